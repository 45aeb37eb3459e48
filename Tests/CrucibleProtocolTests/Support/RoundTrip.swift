import NIOCore
import XCTest
@testable import CrucibleProtocol

/// Generated for every message in `Generated/*+Sample.swift`: a value with every field present in `version` (or in
/// any version, with `allVersions`) set to a non-default value.
protocol SampleProviding {
    static func sample(version: Int16, allVersions: Bool) -> Self
}

/// For every valid version: the sample survives encode/decode unchanged, consumes exactly its bytes and re-encodes
/// to the same bytes; a value with the fields of every version set, encoded at this version, comes back as this
/// version's sample (fields absent from a version decode to their defaults); and every truncation throws.
func assertRoundTripsInEveryVersion<Message: KafkaMessage & SampleProviding & Equatable>(
    _ type: Message.Type, file: StaticString = #filePath, line: UInt = #line
) throws {
    for version in Message.validVersions {
        let sample = Message.sample(version: version, allVersions: false)
        let fullest = Message.sample(version: version, allVersions: true)
        let bytes = sample.encoded(version: version)
        var reader = bytes
        let decoded = try Message(from: &reader, version: version)
        XCTAssertEqual(decoded, sample, "\(Message.self) v\(version) round trip", file: file, line: line)
        XCTAssertEqual(reader.readableBytes, 0, "\(Message.self) v\(version) left bytes unread", file: file, line: line)
        XCTAssertEqual(decoded.encoded(version: version), bytes, "\(Message.self) v\(version) re-encoding",
                       file: file, line: line)

        let downgraded = try Message(decoding: fullest.encoded(version: version), version: version)
        XCTAssertEqual(downgraded, sample, "\(Message.self) v\(version): absent fields not at defaults",
                       file: file, line: line)

        assertEveryTruncationThrows(bytes, as: Message.self, version: version, file: file, line: line)
    }
}

func assertEveryTruncationThrows<Message: KafkaMessage>(
    _ bytes: ByteBuffer, as type: Message.Type, version: Int16, file: StaticString = #filePath, line: UInt = #line
) {
    for length in 0..<bytes.readableBytes {
        var truncated = bytes.getSlice(at: bytes.readerIndex, length: length)!
        XCTAssertThrowsError(try Message(from: &truncated, version: version),
                             "\(Message.self) v\(version) truncated to \(length) bytes", file: file, line: line)
    }
}
