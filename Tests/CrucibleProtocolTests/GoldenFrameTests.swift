import NIOCore
import XCTest
@testable import CrucibleProtocol

/// Real frames as clients put them on the wire (without the leading INT32 size).
final class GoldenFrameTests: XCTestCase {
    /// librdkafka's first request: ApiVersions v3, header v2 with the old-style INT16 client id.
    func testApiVersionsV3RequestAsLibrdkafkaSendsIt() throws {
        let frame = ByteBuffer([
            [0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01],  // api key 18, version 3, correlation id 1
            [0x00, 0x07], "rdkafka",  // client id, INT16 length even in flexible versions
            [0x00],  // header tagged fields
            [0x0b], "librdkafka",  // compact string: length + 1
            [0x06], "2.3.0",
            [0x00],  // body tagged fields
        ])
        var reader = frame
        let header = try RequestHeader.decode(from: &reader)
        XCTAssertEqual(header.apiKey, .apiVersions)
        XCTAssertEqual(header.requestApiVersion, 3)
        XCTAssertEqual(header.correlationId, 1)
        XCTAssertEqual(header.clientId, "rdkafka")
        let request = try ApiVersionsRequest(from: &reader, version: 3)
        XCTAssertEqual(request.clientSoftwareName, "librdkafka")
        XCTAssertEqual(request.clientSoftwareVersion, "2.3.0")
        XCTAssertEqual(reader.readableBytes, 0)

        var encoder = KafkaEncoder()
        header.encode(to: &encoder, version: 2)
        request.encode(to: &encoder, version: 3)
        XCTAssertEqual(encoder.finishContiguous().bytes, frame.bytes)
    }

    func testMetadataV0Request() throws {
        let frame = ByteBuffer([
            [0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07],  // api key 3, version 0, correlation id 7
            [0x00, 0x04], "test",
            [0x00, 0x00, 0x00, 0x01],  // one topic
            [0x00, 0x05], "hello",
        ])
        var reader = frame
        let header = try RequestHeader.decode(from: &reader)
        XCTAssertEqual(header.apiKey, .metadata)
        XCTAssertEqual(header.clientId, "test")
        let request = try MetadataRequest(from: &reader, version: 0)
        XCTAssertEqual(request.topics?.map(\.name), ["hello"])
        XCTAssertEqual(reader.readableBytes, 0)

        var expected = MetadataRequest()
        var topic = MetadataRequest.MetadataRequestTopic()
        topic.name = "hello"
        expected.topics = [topic]
        let frames = expected.encodeFrame(correlationId: 7, clientId: "test", version: 0)
        guard case .byteBuffer(let encoded)? = frames.first, frames.count == 1 else { return XCTFail("one buffer") }
        XCTAssertEqual(encoded.bytes, [0, 0, 0, UInt8(frame.readableBytes)] + frame.bytes)
    }

    /// A flexible header carrying a tagged field this broker does not know: skipped, body still found.
    func testFlexibleHeaderV2SkipsUnknownTaggedFields() throws {
        let frame = ByteBuffer([
            [0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x01, 0x00],  // Produce v9, correlation id 256
            [0xff, 0xff],  // null client id
            [0x02, 0x05, 0x02], "ab", [0x07, 0x00],  // two tagged fields: tag 5 "ab", tag 7 empty
            [0x00],  // body: null transactional id (compact)
            [0xff, 0xff], [0x00, 0x00, 0x03, 0xe8],  // acks -1, timeout 1000
            [0x01],  // no topics
            [0x00],  // body tagged fields
        ])
        var reader = frame
        let header = try RequestHeader.decode(from: &reader)
        XCTAssertEqual(header.apiKey, .produce)
        XCTAssertEqual(header.correlationId, 256)
        XCTAssertNil(header.clientId)
        let request = try ProduceRequest(from: &reader, version: 9)
        XCTAssertNil(request.transactionalId)
        XCTAssertEqual(request.acks, -1)
        XCTAssertEqual(request.timeoutMs, 1000)
        XCTAssertEqual(request.topicData, [])
        XCTAssertEqual(reader.readableBytes, 0)
    }

    func testUnknownApiKeyUsesHeaderV1() throws {
        var reader = ByteBuffer([[0x03, 0xe7, 0x00, 0x05, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x01], "x", [0xaa]])
        let header = try RequestHeader.decode(from: &reader)
        XCTAssertNil(header.apiKey)
        XCTAssertEqual(header.correlationId, 42)
        XCTAssertEqual(header.clientId, "x")
        XCTAssertEqual(reader.bytes, [0xaa])
    }

    func testResponseHeaderVersions() {
        XCTAssertEqual(ApiKey.apiVersions.responseHeaderVersion(3), 0)
        XCTAssertEqual(ApiKey.metadata.responseHeaderVersion(9), 1)
        XCTAssertEqual(ApiKey.metadata.responseHeaderVersion(8), 0)
        XCTAssertEqual(ApiKey.saslHandshake.requestHeaderVersion(1), 1)
        XCTAssertEqual(ApiKey.fetch.requestHeaderVersion(12), 2)

        var encoder = KafkaEncoder()
        ResponseHeader.write(correlationId: 5, apiKey: .metadata, apiVersion: 9, to: &encoder)
        XCTAssertEqual(encoder.finishContiguous().bytes, [0, 0, 0, 5, 0])
    }

    func testApiVersionsResponseFrameUsesHeaderV0() {
        var response = ApiVersionsResponse()
        response.errorCode = ErrorCode.unsupportedVersion.rawValue
        let frames = response.encodeFrame(correlationId: 9, version: 0)
        guard case .byteBuffer(let encoded)? = frames.first else { return XCTFail("expected a buffer") }
        // size 10, correlation id, error code 35, empty api key array
        XCTAssertEqual(encoded.bytes, [0, 0, 0, 10, 0, 0, 0, 9, 0, 35, 0, 0, 0, 0])
    }
}
