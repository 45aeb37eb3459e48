import NIOCore
import XCTest
@testable import CrucibleRecords

final class RecordBatchTests: XCTestCase {
    func testCRC32CKnownVector() {
        let bytes = Array("123456789".utf8)
        XCTAssertEqual(bytes.withUnsafeBytes { CRC32C.checksum($0) }, 0xE306_9283)
    }

    func sampleRecords(_ n: Int = 5) -> [Record] {
        (0..<n).map { i in
            Record(timestamp: 1_700_000_000_000 + Int64(i),
                   key: i == 0 ? nil : Array("key-\(i)".utf8),
                   value: i == 1 ? nil : Array(repeating: UInt8(i), count: 100 + i),
                   headers: i == 2 ? [RecordHeader(key: "h", value: [1, 2]), RecordHeader(key: "n", value: nil)] : [])
        }
    }

    func build(_ codec: CompressionCodec, _ records: [Record]) throws -> ByteBuffer {
        var builder = RecordBatchBuilder(codec: codec)
        records.forEach { builder.append($0) }
        return try builder.build(baseOffset: 0)
    }

    func testEveryCodecRoundTripsAndValidates() throws {
        let records = sampleRecords()
        for codec in CompressionCodec.allCases {
            let batch = try build(codec, records)
            let summary = try BatchValidator(maxBatchBytes: 1 << 20).validate(batch)
            XCTAssertEqual(summary.recordCount, records.count, "\(codec)")
            let decoded = try RecordBatch.records(summary.spans[0], in: batch)
            XCTAssertEqual(decoded.map(\.key), records.map(\.key), "\(codec)")
            XCTAssertEqual(decoded.map(\.value), records.map(\.value), "\(codec)")
            XCTAssertEqual(decoded.map(\.headers), records.map(\.headers), "\(codec)")
            XCTAssertEqual(decoded.map(\.timestamp), records.map(\.timestamp), "\(codec)")
            XCTAssertEqual(decoded.map(\.offset), Array(0..<Int64(records.count)), "\(codec)")
        }
    }

    func testXerialSnappyIsAccepted() throws {
        let plain = Array(repeating: UInt8(7), count: 100_000) + Array(0..<255)
        let framed = try plain.withUnsafeBytes { try Snappy.compressXerial($0, blockBytes: 4096) }
        let back = try framed.withUnsafeBytes { try Codecs.decompress(.snappy, $0, maxOutputBytes: 1 << 20) }
        XCTAssertEqual(back, plain)
    }

    func testDecompressionIsBounded() throws {
        let plain = [UInt8](repeating: 0, count: 1 << 20)
        for codec in CompressionCodec.allCases where codec != .none {
            let packed = try plain.withUnsafeBytes { try Codecs.compress(codec, $0) }
            XCTAssertThrowsError(try packed.withUnsafeBytes { try Codecs.decompress(codec, $0, maxOutputBytes: 1000) },
                                 "\(codec)")
        }
    }

    func testCorruptCRCIsRefused() throws {
        var batch = try build(.none, sampleRecords())
        let at = batch.readerIndex + 70
        batch.setInteger(batch.getInteger(at: at, as: UInt8.self)! ^ 0xff, at: at)
        XCTAssertThrowsError(try BatchValidator(maxBatchBytes: 1 << 20).validate(batch)) { error in
            XCTAssertEqual(error as? BatchError, .corrupt("CRC-32C mismatch"))
        }
    }

    func testOffsetAndEpochStampKeepCRCValid() throws {
        var batch = try build(.lz4, sampleRecords())
        RecordBatchHeader.assign(baseOffset: 12345, leaderEpoch: 7, in: &batch, at: batch.readerIndex)
        let summary = try BatchValidator(maxBatchBytes: 1 << 20).validate(batch)
        XCTAssertEqual(summary.spans[0].header.baseOffset, 12345)
        XCTAssertEqual(summary.spans[0].header.partitionLeaderEpoch, 7)
    }

    func testOversizedBatchIsTooLarge() throws {
        let batch = try build(.none, sampleRecords(50))
        XCTAssertThrowsError(try BatchValidator(maxBatchBytes: 1000).validate(batch)) { error in
            XCTAssertEqual(error as? BatchError, .tooLarge(batch.readableBytes))
        }
    }

    func testRecordCountMismatchIsCorrupt() throws {
        var batch = try build(.none, sampleRecords(3))
        // Claim 4 records (and a matching lastOffsetDelta) then fix the CRC so only the count is wrong.
        batch.setInteger(Int32(4), at: 57)
        batch.setInteger(Int32(3), at: 23)
        let crc = batch.withUnsafeReadableBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[21...])) }
        batch.setInteger(crc, at: 17)
        XCTAssertThrowsError(try BatchValidator(maxBatchBytes: 1 << 20).validate(batch)) { error in
            guard case .corrupt = error as? BatchError else { return XCTFail("\(error)") }
        }
    }

    func testTruncatedBatchesNeverTrap() throws {
        let batch = try build(.zstd, sampleRecords())
        for length in 0..<batch.readableBytes {
            let cut = batch.getSlice(at: batch.readerIndex, length: length)!
            XCTAssertThrowsError(try BatchValidator(maxBatchBytes: 1 << 20).validate(cut))
        }
    }

    func testRandomGarbageNeverTraps() throws {
        var rng = SystemRandomNumberGenerator()
        let valid = try build(.gzip, sampleRecords())
        for _ in 0..<2000 {
            var mutated = valid
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<mutated.readableBytes, using: &rng)
                mutated.setInteger(UInt8.random(in: 0...255, using: &rng), at: at)
            }
            _ = try? BatchValidator(maxBatchBytes: 1 << 20).validate(mutated)
        }
    }
}
