import CrucibleRecords
import Foundation
import NIOCore
import XCTest
@testable import CrucibleStorage

final class LogCleanerTests: CleanerTestCase {
    let cleaner = LogCleaner(dedupeBufferBytes: 1 << 20)

    func testKeepsNewestValuePerKeyWithOffsetsUnchangedAndLeavesTheActiveSegment() throws {
        let log = try open(compactConfig())
        try fill(log, updates: 300, keys: 10)
        let before = try entries(log)
        let activeBase = log.segmentBaseOffsets.last!
        let activePath = directory + "/" + LogSegment.fileName(activeBase, ".log")
        let activeBytes = try FileSystem.readAll(activePath)
        let result = try XCTUnwrap(cleaner.clean(log, checkpoint: nil, upperBound: log.logEndOffset, nowMs: 5000))
        XCTAssertEqual(result.endOffset, activeBase)
        XCTAssertGreaterThan(result.segmentsRewritten, 0)
        XCTAssertEqual(try entries(log), newestPerKey(before, below: activeBase))
        XCTAssertEqual(try FileSystem.readAll(activePath), activeBytes, "the active segment is never cleaned")
        XCTAssertEqual(log.logEndOffset, 300)
        XCTAssertEqual(try leftovers(), [])
        // Reopened (clean and unclean), the log reads the same.
        let after = try entries(log)
        try log.close(nowMs: 6000)
        XCTAssertEqual(try entries(try open(compactConfig())), after)
        XCTAssertEqual(try entries(try open(compactConfig(), recoveryPoint: 0)), after)
    }

    func testCompressedBatchesKeepTheirCodecAndHeaderFields() throws {
        let log = try open(compactConfig(segmentBytes: 600))
        let codecs: [CompressionCodec] = [.gzip, .snappy, .lz4, .zstd, .none]
        for i in 0..<40 {
            try append(log, [("a", "a\(i)"), ("k\(i)", "v\(i)"), ("b", "b\(i)")], timestamp: 1000 + Int64(i) * 10,
                       codec: codecs[i % codecs.count])
        }
        let headersBefore = try log.batchHeaders()
        let before = try entries(log)
        let bound = log.segmentBaseOffsets.last!
        XCTAssertNotNil(try cleaner.clean(log, checkpoint: nil, upperBound: log.logEndOffset, nowMs: 9000))
        XCTAssertEqual(try entries(log), newestPerKey(before, below: bound))
        let after = Dictionary(uniqueKeysWithValues: try log.batchHeaders().map { ($0.baseOffset, $0) })
        for old in headersBefore {
            guard let new = after[old.baseOffset] else { continue }
            XCTAssertEqual(new.compression, old.compression)
            XCTAssertEqual(new.lastOffsetDelta, old.lastOffsetDelta, "the last offset stays for producer state")
            XCTAssertEqual(new.partitionLeaderEpoch, old.partitionLeaderEpoch)
            XCTAssertEqual(new.isLogAppendTime, old.isLogAppendTime)
        }
        XCTAssertLessThan(try entries(log).count, before.count)
    }

    func testTombstonesOutliveTheirFirstCleaningByDeleteRetentionMs() throws {
        var config = compactConfig(segmentBytes: 300)
        config.deleteRetentionMs = 10_000
        let log = try open(config)
        try append(log, [("gone", "v1"), ("kept", "v1")])
        try append(log, [("gone", nil)])
        try fill(log, updates: 30, keys: 3)  // other keys, enough to roll past the tombstone
        XCTAssertNotNil(try cleaner.clean(log, checkpoint: nil, upperBound: log.logEndOffset, nowMs: 50_000))
        var gone = try entries(log).filter { $0.key == "gone" }
        XCTAssertEqual(gone, [Entry(offset: 2, key: "gone", value: nil)], "the tombstone stays, the value goes")
        let tombstoneBatch = try XCTUnwrap(log.batchHeaders().first { $0.baseOffset == 2 })
        XCTAssertEqual(tombstoneBatch.deleteHorizonMs, 60_000, "KIP-534: cleaning time + delete.retention.ms")
        // Before the horizon a later pass keeps it; after it, the tombstone goes too.
        let end = log.segmentBaseOffsets.last!
        _ = try cleaner.clean(log, checkpoint: end, upperBound: log.logEndOffset, nowMs: 59_000, tombstonesDue: true)
        XCTAssertEqual(try entries(log).filter { $0.key == "gone" }.count, 1)
        let last = try XCTUnwrap(cleaner.clean(log, checkpoint: end, upperBound: log.logEndOffset, nowMs: 60_001,
                                               tombstonesDue: true))
        gone = try entries(log).filter { $0.key == "gone" }
        XCTAssertEqual(gone, [])
        XCTAssertNil(last.nextDeleteHorizonMs)
        XCTAssertEqual(try entries(log).filter { $0.key == "kept" }.map(\.value), ["v1"])
    }

    func testDirtyRatioAndMinCompactionLagGateCleaning() throws {
        var config = compactConfig()
        config.minCleanableDirtyRatio = 0.5
        let log = try open(config)
        try fill(log, updates: 200, keys: 100)
        let first = try XCTUnwrap(cleaner.clean(log, checkpoint: nil, upperBound: log.logEndOffset, nowMs: 5000))
        // A little new dirty data against the clean head: below the ratio, no pass.
        try fill(log, updates: 12, keys: 4)
        try log.roll(nowMs: 0)
        XCTAssertNil(try cleaner.clean(log, checkpoint: first.endOffset, upperBound: log.logEndOffset, nowMs: 5000))
        // min.compaction.lag.ms: records younger than the lag are not cleaned, so nothing is due.
        var lagged = compactConfig()
        lagged.minCompactionLagMs = 1_000_000
        log.update(config: lagged)
        XCTAssertNil(try cleaner.clean(log, checkpoint: first.endOffset, upperBound: log.logEndOffset, nowMs: 5000))
        lagged.minCompactionLagMs = 100
        log.update(config: lagged)
        XCTAssertNotNil(try cleaner.clean(log, checkpoint: first.endOffset, upperBound: log.logEndOffset, nowMs: 5000))
    }

    func testNothingAtOrPastTheUpperBoundIsCleaned() throws {
        let log = try open(compactConfig())
        try fill(log, updates: 120, keys: 2)
        let bound: Int64 = 60
        let before = try entries(log)
        let result = try XCTUnwrap(cleaner.clean(log, checkpoint: nil, upperBound: bound, nowMs: 5000))
        XCTAssertLessThanOrEqual(result.endOffset, bound)
        XCTAssertEqual(try entries(log), newestPerKey(before, below: result.endOffset))
    }

    func testReadsTakenBeforeASwapStillSeeTheOldSegment() throws {
        let log = try open(compactConfig())
        try fill(log, updates: 150, keys: 3)
        let slices = try log.read(from: 0, maxBytes: 1 << 20, endOffset: log.logEndOffset)
        let expected = try slices.map { try $0.file.read(at: $0.position, count: $0.length) }
        XCTAssertNotNil(try cleaner.clean(log, checkpoint: nil, upperBound: log.logEndOffset, nowMs: 5000))
        // The fetch that took these slices (sendfile on duplicated descriptors) still reads whole old batches.
        for (slice, bytes) in zip(slices, expected) {
            XCTAssertEqual(try slice.file.read(at: slice.position, count: slice.length), bytes)
        }
        XCTAssertLessThan(try entries(log).count, 150)
    }

    func testAnIdempotentProducersLastBatchIsKeptEmpty() throws {
        let log = try open(compactConfig())
        try append(log, [("p", "1"), ("q", "1")], producerId: 7, sequence: 0)
        try append(log, [("p", "2"), ("q", "2")], producerId: 7, sequence: 2)
        try fill(log, updates: 60, keys: 2)  // plain writes of other keys roll the segment
        try append(log, [("p", "3"), ("q", "3")])
        try fill(log, updates: 30, keys: 2)
        XCTAssertNotNil(try cleaner.clean(log, checkpoint: nil, upperBound: log.logEndOffset, nowMs: 5000))
        let headers = try log.batchHeaders().filter { $0.producerId == 7 }
        XCTAssertEqual(headers.count, 1, "the producer's earlier batch goes; its last one stays")
        XCTAssertEqual(headers[0].recordCount, 0)
        XCTAssertEqual(headers[0].baseSequence, 2)
        XCTAssertEqual(headers[0].lastOffset, 3)
        XCTAssertEqual(log.activeProducers.first?.lastSequence, 3)
        try log.close(nowMs: 6000)
        XCTAssertEqual(try open(compactConfig(), recoveryPoint: 0).activeProducers.first?.lastSequence, 3)
    }

    func testAFollowerCopiesACompactedLogWithItsGaps() throws {
        let leader = try open(compactConfig())
        try fill(leader, updates: 150, keys: 4, perBatch: 1)
        XCTAssertNotNil(try cleaner.clean(leader, checkpoint: nil, upperBound: leader.logEndOffset, nowMs: 5000))
        let follower = try PartitionLog(directory: root + "/f-0", topic: "f", partition: 0, config: compactConfig(),
                                        recoveryPoint: nil, nowMs: 0)
        while follower.logEndOffset < leader.logEndOffset {
            let bytes = try leader.readBytes(from: follower.logEndOffset, maxBytes: 300, endOffset: leader.logEndOffset)
            _ = try follower.appendAsFollower(bytes, nowMs: 0)
        }
        XCTAssertEqual(try follower.batchHeaders(), try leader.batchHeaders())
        XCTAssertGreaterThan(try XCTUnwrap(leader.batchHeaders().first).baseOffset, 0, "the log starts with a gap")
        XCTAssertEqual(try entries(follower), try entries(leader))
    }

    func testCheckpointFollowsPassesAndTruncation() throws {
        let manager = try LogManager(directory: root)
        let log = try manager.openLog(topic: "t", partition: 0, config: compactConfig(), nowMs: 0)
        try fill(log, updates: 100, keys: 5)
        let result = try XCTUnwrap(manager.clean(log, with: cleaner, upperBound: log.logEndOffset, nowMs: 5000))
        XCTAssertEqual(manager.cleanerCheckpoint(log), result.endOffset)
        let text = String(decoding: try FileSystem.readAll(root + "/" + LogManager.cleanerCheckpointFile), as: UTF8.self)
        XCTAssertEqual(text, "0\n1\nt 0 \(result.endOffset)\n")
        try log.truncate(to: 10)
        XCTAssertEqual(manager.cleanerCheckpoint(log), 10)
        XCTAssertEqual(try LogManager(directory: root).cleanerCheckpoint(log), 10)
    }

    func testRetentionDeletesCompactedSegmentsOnlyWithCompactDelete() throws {
        var config = compactConfig()
        config.retentionMs = 1000
        let log = try open(config)
        try fill(log, updates: 100, keys: 5)
        XCTAssertEqual(try log.deleteRetainedSegments(nowMs: 1_000_000, maxOffset: 100), 0)
        config.cleanupPolicy = "compact,delete"
        log.update(config: config)
        XCTAssertGreaterThan(try log.deleteRetainedSegments(nowMs: 1_000_000, maxOffset: 100), 0)
    }
}
