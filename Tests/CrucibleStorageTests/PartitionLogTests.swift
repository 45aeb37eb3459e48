import CrucibleRecords
import Foundation
import NIOCore
import XCTest
@testable import CrucibleStorage

final class PartitionLogTests: XCTestCase {
    var directory: String!

    override func setUp() {
        directory = NSTemporaryDirectory() + "crucible-log-\(UUID().uuidString)/t-0"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent)
    }

    func config(segmentBytes: Int = 1 << 20) -> LogConfig {
        var config = LogConfig()
        config.segmentBytes = segmentBytes
        config.indexIntervalBytes = 256
        return config
    }

    func open(_ config: LogConfig, recoveryPoint: Int64? = nil) throws -> PartitionLog {
        try PartitionLog(directory: directory, topic: "t", partition: 0, config: config, recoveryPoint: recoveryPoint,
                         nowMs: 0)
    }

    func batch(_ values: [String], timestamp: Int64 = 1000, producerId: Int64 = -1, epoch: Int16 = -1,
               sequence: Int32 = -1, codec: CompressionCodec = .none) throws -> (ByteBuffer, BatchSpan) {
        var builder = RecordBatchBuilder(codec: codec)
        builder.producerId = producerId
        builder.producerEpoch = epoch
        builder.baseSequence = sequence
        for (i, value) in values.enumerated() {
            builder.append(Record(timestamp: timestamp + Int64(i), key: nil, value: Array(value.utf8)))
        }
        let buffer = try builder.build()
        return (buffer, BatchSpan(header: RecordBatchHeader(buffer, at: buffer.readerIndex)!, start: buffer.readerIndex))
    }

    @discardableResult
    func append(_ log: PartitionLog, _ values: [String], timestamp: Int64 = 1000) throws -> AppendResult {
        var (buffer, span) = try batch(values, timestamp: timestamp)
        return try log.appendAsLeader(&buffer, span: span, leaderEpoch: 3, nowMs: 0)
    }

    func values(_ log: PartitionLog, from: Int64 = 0) throws -> [String] {
        let bytes = try log.readBytes(from: from, maxBytes: 1 << 30, endOffset: log.logEndOffset)
        return try RecordBatch.spans(in: bytes, allowPartialTail: false).flatMap {
            try RecordBatch.records($0, in: bytes).map { String(decoding: $0.value!, as: UTF8.self) }
        }
    }

    func testAppendAssignsOffsetsAndEpochAndReadsBack() throws {
        let log = try open(config())
        XCTAssertEqual(try append(log, ["a", "b"]).baseOffset, 0)
        XCTAssertEqual(try append(log, ["c"]).baseOffset, 2)
        XCTAssertEqual(log.logEndOffset, 3)
        XCTAssertEqual(try values(log), ["a", "b", "c"])
        XCTAssertEqual(try log.batchHeaders().map(\.partitionLeaderEpoch), [3, 3])
        XCTAssertEqual(try values(log, from: 2), ["c"])
        XCTAssertThrowsError(try log.read(from: 4, maxBytes: 100, endOffset: 3))
    }

    func testSegmentsRollWithKafkaFileNames() throws {
        let log = try open(config(segmentBytes: 500))
        for i in 0..<20 { try append(log, [String(repeating: "x", count: 100) + "\(i)"]) }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        XCTAssertTrue(names.contains("00000000000000000000.log"))
        XCTAssertTrue(names.contains("00000000000000000000.index"))
        XCTAssertTrue(names.contains("00000000000000000000.timeindex"))
        XCTAssertGreaterThan(log.segmentBaseOffsets.count, 3)
        for base in log.segmentBaseOffsets {
            XCTAssertTrue(names.contains(String(format: "%020lld.log", base)))
        }
        XCTAssertEqual(try values(log).count, 20)
    }

    func testCleanReopenKeepsEverything() throws {
        var log: PartitionLog? = try open(config(segmentBytes: 700))
        for i in 0..<30 { try append(log!, ["value-\(i)"], timestamp: Int64(i * 10)) }
        try log!.close(nowMs: 0)
        log = nil
        let reopened = try open(config(segmentBytes: 700))
        XCTAssertEqual(reopened.logEndOffset, 30)
        XCTAssertEqual(try values(reopened), (0..<30).map { "value-\($0)" })
        XCTAssertEqual(try append(reopened, ["next"]).baseOffset, 30)
    }

    func testTornTailIsTruncatedToLastWholeBatch() throws {
        var log: PartitionLog? = try open(config())
        for i in 0..<10 { try append(log!, ["value-\(i)", "second-\(i)"]) }
        log = nil
        // Cut the segment in the middle of the last batch, as a crash mid-write would.
        let path = directory + "/00000000000000000000.log"
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        let handle = FileHandle(forWritingAtPath: path)!
        try handle.truncate(atOffset: UInt64(size - 7))
        try handle.close()
        let recovered = try open(config(), recoveryPoint: 0)
        XCTAssertEqual(recovered.logEndOffset, 18)
        XCTAssertEqual(try values(recovered).count, 18)
        XCTAssertEqual(try append(recovered, ["after"]).baseOffset, 18)
        XCTAssertEqual(try values(recovered).last, "after")
    }

    func testCorruptBatchInTheMiddleCutsFromThere() throws {
        var log: PartitionLog? = try open(config())
        for i in 0..<6 { try append(log!, ["value-\(i)"]) }
        let headers = try log!.batchHeaders()
        log = nil
        let path = directory + "/00000000000000000000.log"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let thirdBatch = headers[0].totalSize + headers[1].totalSize
        bytes[thirdBatch + 65] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: path))
        let recovered = try open(config(), recoveryPoint: 0)
        XCTAssertEqual(try values(recovered), ["value-0", "value-1"])
    }

    func testOffsetForTimestampFindsFirstRecordAtOrAfter() throws {
        let log = try open(config(segmentBytes: 600))
        for i in 0..<40 { try append(log, ["a\(i)", "b\(i)"], timestamp: Int64(1000 + i * 10)) }
        // Batch i holds timestamps 1000+10i and 1000+10i+1 at offsets 2i and 2i+1.
        XCTAssertEqual(try log.offset(forTimestamp: 1000)?.offset, 0)
        XCTAssertEqual(try log.offset(forTimestamp: 1001)?.offset, 1)
        XCTAssertEqual(try log.offset(forTimestamp: 1005)?.offset, 2)
        XCTAssertEqual(try log.offset(forTimestamp: 1250)?.offset, 50)
        XCTAssertEqual(try log.offset(forTimestamp: 1391)?.offset, 79)
        XCTAssertNil(try log.offset(forTimestamp: 5000))
    }

    func testIdempotentSequencesDuplicatesAndGaps() throws {
        let log = try open(config())
        var (first, span1) = try batch(["a", "b"], producerId: 7, epoch: 0, sequence: 0)
        let retry = first
        XCTAssertEqual(try log.appendAsLeader(&first, span: span1, leaderEpoch: 0, nowMs: 0).baseOffset, 0)
        var again = retry
        let duplicate = try log.appendAsLeader(&again, span: span1, leaderEpoch: 0, nowMs: 0)
        XCTAssertTrue(duplicate.duplicate)
        XCTAssertEqual(duplicate.baseOffset, 0)
        var (gap, span2) = try batch(["c"], producerId: 7, epoch: 0, sequence: 5)
        XCTAssertThrowsError(try log.appendAsLeader(&gap, span: span2, leaderEpoch: 0, nowMs: 0)) {
            guard case .outOfOrderSequence = $0 as? AppendError else { return XCTFail("\($0)") }
        }
        var (next, span3) = try batch(["c"], producerId: 7, epoch: 0, sequence: 2)
        XCTAssertEqual(try log.appendAsLeader(&next, span: span3, leaderEpoch: 0, nowMs: 0).baseOffset, 2)
        span1 = span3
        XCTAssertEqual(log.logEndOffset, 3)
    }

    func testProducerStateSurvivesUncleanRestart() throws {
        var log: PartitionLog? = try open(config())
        var (first, span) = try batch(["a"], producerId: 9, epoch: 1, sequence: 0)
        let retry = first
        _ = try log!.appendAsLeader(&first, span: span, leaderEpoch: 0, nowMs: 0)
        log = nil  // no close: as after SIGKILL
        let restarted = try open(config(), recoveryPoint: 0)
        var again = retry
        XCTAssertTrue(try restarted.appendAsLeader(&again, span: span, leaderEpoch: 0, nowMs: 0).duplicate)
        var (old, oldSpan) = try batch(["z"], producerId: 9, epoch: 0, sequence: 1)
        XCTAssertThrowsError(try restarted.appendAsLeader(&old, span: oldSpan, leaderEpoch: 0, nowMs: 0)) {
            guard case .invalidProducerEpoch = $0 as? AppendError else { return XCTFail("\($0)") }
        }
    }

    func testRetentionBySizeDeletesOldestSegments() throws {
        var config = config(segmentBytes: 400)
        config.retentionBytes = 1000
        let log = try open(config)
        for i in 0..<30 { try append(log, [String(repeating: "y", count: 80) + "\(i)"]) }
        let before = log.segmentBaseOffsets.count
        let deleted = try log.deleteRetainedSegments(nowMs: 0, maxOffset: log.logEndOffset)
        XCTAssertGreaterThan(deleted, 0)
        XCTAssertEqual(log.segmentBaseOffsets.count, before - deleted)
        XCTAssertEqual(log.logStartOffset, log.segmentBaseOffsets.first)
        XCTAssertLessThanOrEqual(log.sizeBytes, 1000 + 400)
        XCTAssertThrowsError(try log.read(from: 0, maxBytes: 10, endOffset: log.logEndOffset))
    }

    func testRetentionByTimeUsesLargestTimestamp() throws {
        var config = config(segmentBytes: 300)
        config.retentionMs = 1000
        let log = try open(config)
        for i in 0..<10 { try append(log, [String(repeating: "z", count: 100)], timestamp: Int64(i * 1000)) }
        try log.deleteRetainedSegments(nowMs: 10_500, maxOffset: log.logEndOffset)
        XCTAssertEqual(log.logStartOffset, 9)
    }

    func testTruncateRemovesSuffix() throws {
        let log = try open(config(segmentBytes: 500))
        for i in 0..<20 { try append(log, [String(repeating: "x", count: 60) + "\(i)"]) }
        try log.truncate(to: 7)
        XCTAssertEqual(log.logEndOffset, 7)
        XCTAssertEqual(try values(log).count, 7)
        XCTAssertEqual(try append(log, ["after"]).baseOffset, 7)
    }
}
