import NIOCore
import XCTest
@testable import CrucibleProtocol

final class PrimitiveTests: XCTestCase {
    func testUnsignedVarintEncodings() throws {
        let cases: [(UInt32, [UInt8])] = [
            (0, [0x00]), (1, [0x01]), (127, [0x7f]), (128, [0x80, 0x01]), (300, [0xac, 0x02]),
            (UInt32.max, [0xff, 0xff, 0xff, 0xff, 0x0f]),
        ]
        for (value, bytes) in cases {
            var buffer = ByteBuffer()
            buffer.writeUnsignedVarint(value)
            XCTAssertEqual(buffer.bytes, bytes, "\(value)")
            XCTAssertEqual(ByteBuffer.unsignedVarintSize(value), bytes.count)
            XCTAssertEqual(try buffer.readUnsignedVarint(), value)
            XCTAssertEqual(buffer.readableBytes, 0)
        }
    }

    func testZigZagVarints() throws {
        let cases: [(Int32, [UInt8])] = [(0, [0x00]), (-1, [0x01]), (1, [0x02]), (-2, [0x03]), (300, [0xd8, 0x04])]
        for (value, bytes) in cases {
            var buffer = ByteBuffer()
            buffer.writeVarint(value)
            XCTAssertEqual(buffer.bytes, bytes, "\(value)")
            XCTAssertEqual(try buffer.readVarint(), value)
        }
        for value in [Int32.min, Int32.max, -12345, 12345] {
            var buffer = ByteBuffer()
            buffer.writeVarint(value)
            XCTAssertEqual(try buffer.readVarint(), value)
        }
        for value in [Int64.min, Int64.max, -1, 0, 1 << 40] {
            var buffer = ByteBuffer()
            buffer.writeVarlong(value)
            XCTAssertEqual(try buffer.readVarlong(), value)
            XCTAssertEqual(buffer.readableBytes, 0)
        }
    }

    func testStringsAndBytesInBothEncodings() throws {
        for compact in [false, true] {
            var buffer = ByteBuffer()
            buffer.writeKafkaString("héllo", compact: compact)
            buffer.writeKafkaNullableString(nil, compact: compact)
            buffer.writeKafkaNullableBytes(ByteBuffer(bytes: [1, 2, 3]), compact: compact)
            buffer.writeKafkaNullableBytes(nil, compact: compact)
            XCTAssertEqual(try buffer.readKafkaString(compact: compact), "héllo")
            XCTAssertNil(try buffer.readKafkaNullableString(compact: compact))
            XCTAssertEqual(try buffer.readKafkaBytes(compact: compact).bytes, [1, 2, 3])
            XCTAssertNil(try buffer.readKafkaNullableBytes(compact: compact))
            XCTAssertEqual(buffer.readableBytes, 0)
        }
    }

    func testFixedWidthValues() throws {
        var buffer = ByteBuffer()
        buffer.writeKafkaFloat64(-2.5)
        buffer.writeKafkaBool(true)
        buffer.writeKafkaUInt16(65535)
        buffer.writeKafkaUUID(KafkaUUID(high: 1, low: 2))
        XCTAssertEqual(try buffer.readKafkaFloat64(), -2.5)
        XCTAssertTrue(try buffer.readKafkaBool())
        XCTAssertEqual(try buffer.readKafkaUInt16(), 65535)
        XCTAssertEqual(try buffer.readKafkaUUID(), KafkaUUID(high: 1, low: 2))
    }

    func testUUIDText() {
        XCTAssertEqual(KafkaUUID.zero.description, "AAAAAAAAAAAAAAAAAAAAAA")
        XCTAssertEqual(KafkaUUID.metadataTopicId.description, "AAAAAAAAAAAAAAAAAAAAAQ")
        XCTAssertEqual(KafkaUUID(string: "AAAAAAAAAAAAAAAAAAAAAQ"), .metadataTopicId)
        for _ in 0..<100 {
            let uuid = KafkaUUID.random()
            XCTAssertEqual(uuid.description.count, 22)
            XCTAssertFalse(uuid.description.hasPrefix("-"))
            XCTAssertEqual(KafkaUUID(string: uuid.description), uuid)
        }
        XCTAssertNil(KafkaUUID(string: "too short"))
        XCTAssertNil(KafkaUUID(string: "AAAAAAAAAAAAAAAAAAAAA+"))
        XCTAssertNil(KafkaUUID(string: "AAAAAAAAAAAAAAAAAAAAAB"))  // non-zero padding bits
    }

    func testErrorCodes() {
        XCTAssertEqual(ErrorCode.none.rawValue, 0)
        XCTAssertEqual(ErrorCode.unknownTopicOrPartition.rawValue, 3)
        XCTAssertEqual(ErrorCode.unknownTopicOrPartition.name, "UNKNOWN_TOPIC_OR_PARTITION")
        XCTAssertTrue(ErrorCode.notLeaderOrFollower.isRetriable)
        XCTAssertFalse(ErrorCode.unsupportedVersion.isRetriable)
        XCTAssertEqual(ErrorCode(rawValue: 9999).name, "UNKNOWN_ERROR_9999")
    }
}
