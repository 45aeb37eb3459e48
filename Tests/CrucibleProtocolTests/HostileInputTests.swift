import NIOCore
import XCTest
@testable import CrucibleProtocol

/// Decoders face untrusted bytes: every malformed input must throw, never trap or allocate by a declared length.
final class HostileInputTests: XCTestCase {
    private func assertThrows(_ bytes: [UInt8], _ read: (inout ByteBuffer) throws -> Void,
                              file: StaticString = #filePath, line: UInt = #line) {
        var buffer = ByteBuffer(bytes: bytes)
        XCTAssertThrowsError(try read(&buffer), file: file, line: line)
    }

    func testNegativeLengthsThrow() {
        assertThrows([0xff, 0xfe]) { _ = try $0.readKafkaNullableString(compact: false) }  // -2
        assertThrows([0xff, 0xff]) { _ = try $0.readKafkaString(compact: false) }  // null where not nullable
        assertThrows([0xff, 0xff, 0xff, 0xfe]) { _ = try $0.readKafkaNullableBytes(compact: false) }
        assertThrows([0x80, 0x00, 0x00, 0x00]) { _ = try $0.readKafkaNullableArray(compact: false) { try $0.readKafkaInt8() } }
        assertThrows([0x00]) { _ = try $0.readKafkaArray(compact: true) { try $0.readKafkaInt8() } }  // compact null
    }

    func testHugeLengthsThrowWithoutAllocating() {
        assertThrows([0x7f, 0xff, 0x61]) { _ = try $0.readKafkaString(compact: false) }
        assertThrows([0x7f, 0xff, 0xff, 0xff, 0x00]) { _ = try $0.readKafkaBytes(compact: false) }
        assertThrows([0x7f, 0xff, 0xff, 0xff, 0x00]) { _ = try $0.readKafkaArray(compact: false) { try $0.readKafkaInt8() } }
        assertThrows([0xff, 0xff, 0xff, 0xff, 0x0f]) { _ = try $0.readKafkaArray(compact: true) { try $0.readKafkaInt8() } }
        assertThrows([0xff, 0xff, 0xff, 0xff, 0x0f]) { _ = try $0.readKafkaBytes(compact: true) }
        assertThrows([0x05, 0xff, 0xff, 0x03]) { _ = try $0.readKafkaTaggedField() }
        // A compact string longer than Kafka's INT16 limit, even when the bytes are there.
        assertThrows([0x81, 0x80, 0x02] + [UInt8](repeating: 0x61, count: 32_768)) {
            _ = try $0.readKafkaString(compact: true)
        }
    }

    func testMalformedVarintsThrow() {
        assertThrows([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]) { _ = try $0.readUnsignedVarint() }
        assertThrows([0x80, 0x80]) { _ = try $0.readVarint() }
        assertThrows([UInt8](repeating: 0xff, count: 11)) { _ = try $0.readVarlong() }
        assertThrows([]) { _ = try $0.readUnsignedVarint() }
    }

    func testHugeArrayCountInAMessageThrows() {
        // Metadata v0 request declaring 2^31-1 topics.
        assertThrows([0x7f, 0xff, 0xff, 0xff, 0x00, 0x01]) { _ = try MetadataRequest(from: &$0, version: 0) }
    }

    /// Random bytes fed to every request and response decoder at every version: any outcome but a crash is fine.
    func testRandomBytesNeverCrashDecoders() {
        var generator = SplitMix64(seed: 0x5eed)
        for key in ApiKey.allCases {
            for type in [key.requestType as any KafkaMessage.Type, key.responseType] {
                for version in type.validVersions {
                    for _ in 0..<40 {
                        let length = Int(generator.next() % 48)
                        var buffer = ByteBuffer(bytes: (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
                        _ = try? type.init(from: &buffer, version: version)
                    }
                }
            }
        }
    }
}

/// A small deterministic generator so fuzz failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
