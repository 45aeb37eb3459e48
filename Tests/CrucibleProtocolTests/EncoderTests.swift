import NIOCore
import XCTest
@testable import CrucibleProtocol

final class EncoderTests: XCTestCase {
    func testFinishFramePrefixesTheSize() {
        var encoder = KafkaEncoder(capacity: 4)
        encoder.buffer.writeKafkaInt32(0x0102_0304)
        encoder.buffer.writeString("abcdefgh")  // grows past the initial capacity
        XCTAssertEqual(encoder.byteCount, 12)
        let parts = encoder.finishFrame()
        guard case .byteBuffer(let frame)? = parts.first, parts.count == 1 else { return XCTFail("one buffer") }
        XCTAssertEqual(frame.bytes, [0, 0, 0, 12, 1, 2, 3, 4] + Array("abcdefgh".utf8))
    }

    func testRecordsFromFilesBecomeTheirOwnParts() throws {
        let handle = try NIOFileHandle(_deprecatedPath: #filePath)
        defer { try? handle.close() }
        let region = FileRegion(fileHandle: handle, readerIndex: 10, endIndex: 110)
        let records = KafkaRecords(chunks: [.bytes(ByteBuffer(bytes: [1, 2])), .file(region)])
        XCTAssertEqual(records.byteCount, 102)
        XCTAssertNil(records.contiguousBytes)

        var encoder = KafkaEncoder()
        encoder.buffer.writeKafkaInt8(7)
        encoder.writeRecords(records, compact: false)
        encoder.buffer.writeKafkaInt8(8)
        XCTAssertEqual(encoder.byteCount, 1 + 4 + 102 + 1)
        let parts = encoder.finishFrame()
        XCTAssertEqual(parts.count, 3)
        guard case .byteBuffer(let head) = parts[0], case .fileRegion(let file) = parts[1],
              case .byteBuffer(let tail) = parts[2] else { return XCTFail("buffer, file, buffer") }
        XCTAssertEqual(head.bytes, [0, 0, 0, 108, 7, 0, 0, 0, 102, 1, 2])
        XCTAssertEqual(file, region)
        XCTAssertEqual(tail.bytes, [8])
    }

    func testNullAndCompactRecords() throws {
        var encoder = KafkaEncoder()
        encoder.writeRecords(nil, compact: false)
        encoder.writeRecords(nil, compact: true)
        encoder.writeRecords(KafkaRecords(ByteBuffer(bytes: [9])), compact: true)
        var buffer = encoder.finishContiguous()
        XCTAssertEqual(buffer.bytes, [0xff, 0xff, 0xff, 0xff, 0x00, 0x02, 0x09])
        XCTAssertNil(try buffer.readKafkaNullableRecords(compact: false))
        XCTAssertNil(try buffer.readKafkaNullableRecords(compact: true))
        XCTAssertEqual(try buffer.readKafkaRecords(compact: true).contiguousBytes?.bytes, [9])
    }

    func testRecordsEqualityIgnoresHowBytesAreSplit() {
        let whole = KafkaRecords(ByteBuffer(bytes: [1, 2, 3]))
        let split = KafkaRecords(chunks: [.bytes(ByteBuffer(bytes: [1])), .bytes(ByteBuffer(bytes: [2, 3]))])
        XCTAssertEqual(whole, split)
        XCTAssertNotEqual(whole, KafkaRecords(ByteBuffer(bytes: [1, 2])))
    }

    func testMetadataRecordFrameRoundTrip() throws {
        var topic = TopicRecord()
        topic.name = "orders"
        topic.topicId = KafkaUUID(high: 7, low: 9)
        var encoder = KafkaEncoder()
        MetadataRecordFrame(record: topic, version: 0).encode(to: &encoder)
        var buffer = encoder.finishContiguous()
        XCTAssertEqual(Array(buffer.bytes.prefix(3)), [0, 2, 0])  // frame version, type 2 (TopicRecord), version 0
        let frame = try MetadataRecordFrame.decode(from: &buffer)
        XCTAssertEqual(frame.recordType, .topic)
        XCTAssertEqual(frame.record as? TopicRecord, topic)
        XCTAssertEqual(buffer.readableBytes, 0)

        var unknown = ByteBuffer(bytes: [0, 99, 0])
        XCTAssertThrowsError(try MetadataRecordFrame.decode(from: &unknown))
    }

    func testApiKeyTable() {
        XCTAssertEqual(ApiKey.allCases.count, 53, "the APIs the generator catalogue lists")
        XCTAssertEqual(ApiKey.produce.rawValue, 0)
        XCTAssertEqual(ApiKey.listOffsets.name, "ListOffsets")
        XCTAssertEqual(ApiKey.fetch.firstFlexibleVersion, 12)
        XCTAssertNil(ApiKey.saslHandshake.firstFlexibleVersion)
        for key in ApiKey.allCases {
            XCTAssertEqual(key.requestType.apiKey, key)
            XCTAssertEqual(key.responseType.apiKey, key)
        }
        for type in MetadataRecordType.allCases {
            XCTAssertEqual(type.messageType.recordType, type)
        }
    }
}
