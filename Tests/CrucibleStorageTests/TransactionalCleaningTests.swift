import CrucibleRecords
import Foundation
import XCTest
@testable import CrucibleStorage

/// Compaction of a log with transactions: aborted data goes (and never outranks a committed value of its key),
/// a marker stays while its transaction has data in the log, then gets a delete horizon and goes after it, with
/// its aborted-transaction entry; a replay of the cleaned log finds no transaction left open.
final class TransactionalCleaningTests: CleanerTestCase {
    let retention: Int64 = 1000

    func config() -> LogConfig {
        var config = compactConfig()
        config.deleteRetentionMs = retention
        return config
    }

    func transaction(_ log: PartitionLog, _ pairs: [(String, String?)], producer: Int64, sequence: Int32,
                     _ marker: ControlRecord.Marker) throws -> Int64 {
        try append(log, pairs, producerId: producer, sequence: sequence, transactional: true)
        return try log.appendMarker(marker, producerId: producer, producerEpoch: 0, coordinatorEpoch: 0, leaderEpoch: 2,
                                    nowMs: 1000).baseOffset
    }

    /// Plain records of other keys, enough to roll segments past everything written so far.
    func roll(_ log: PartitionLog) throws {
        for i in 0..<12 { try append(log, [("pad\(i)", "p")]) }
    }

    /// The markers in the log: offset → (delete horizon if set).
    func markers(_ log: PartitionLog) throws -> [Int64: Int64?] {
        let bytes = try log.readBytes(from: log.logStartOffset, maxBytes: 1 << 30, endOffset: log.logEndOffset)
        var found: [Int64: Int64?] = [:]
        for span in try RecordBatch.spans(in: bytes, allowPartialTail: false) where span.header.isControl {
            XCTAssertTrue(RecordBatch.crcMatches(span, in: bytes))
            found[span.header.baseOffset] = span.header.deleteHorizonMs
        }
        return found
    }

    func clean(_ log: PartitionLog, at nowMs: Int64) throws -> CleanResult? {
        try LogCleaner().clean(log, checkpoint: nil, upperBound: log.lastStableOffset(highWatermark: log.logEndOffset),
                               nowMs: nowMs, tombstonesDue: true)
    }

    func testAbortedDataGoesAndDoesNotOutrankTheCommittedValueOfItsKey() throws {
        let log = try open(config())
        _ = try transaction(log, [("k", "committed")], producer: 1, sequence: 0, .commit)
        _ = try transaction(log, [("k", "aborted"), ("j", "aborted")], producer: 2, sequence: 0, .abort)
        try append(log, [("j", "plain")])
        try roll(log)
        XCTAssertNotNil(try clean(log, at: 5000))
        let data = try entries(log, dataOnly: true)
        XCTAssertEqual(data.filter { $0.key == "k" }.map(\.value), ["committed"])
        XCTAssertEqual(data.filter { $0.key == "j" }.map(\.value), ["plain"])
        XCTAssertFalse(data.contains { $0.value == "aborted" })
        XCTAssertEqual(log.lastStableOffset(highWatermark: log.logEndOffset), log.logEndOffset)
    }

    func testAMarkerOutlivesItsDataByTheDeleteHorizonAndTakesItsIndexEntryWithIt() throws {
        let log = try open(config())
        let firstCommit = try transaction(log, [("k", "a")], producer: 1, sequence: 0, .commit)
        let abort = try transaction(log, [("x", "aborted")], producer: 2, sequence: 0, .abort)
        let secondCommit = try transaction(log, [("k", "b")], producer: 1, sequence: 1, .commit)
        let lastCommit = try transaction(log, [("y", "kept")], producer: 2, sequence: 1, .commit)
        try roll(log)
        XCTAssertEqual(log.abortedTransactionIndex.map(\.lastOffset), [abort])

        // Pass 1: the data goes (k=a is outranked, x aborted); the markers saw their data, so they stay as they are.
        XCTAssertNotNil(try clean(log, at: 5000))
        XCTAssertFalse(try entries(log, dataOnly: true).contains { $0.value == "a" || $0.value == "aborted" })
        XCTAssertEqual(try markers(log), [firstCommit: nil, abort: nil, secondCommit: nil, lastCommit: nil])
        XCTAssertEqual(log.abortedTransactionIndex.map(\.lastOffset), [abort])

        // Pass 2: two markers are spent; they get a horizon, and the next pass is due then.
        let horizon = 6000 + retention
        XCTAssertEqual(try clean(log, at: 6000)?.nextDeleteHorizonMs, horizon)
        XCTAssertEqual(try markers(log), [firstCommit: horizon, abort: horizon, secondCommit: nil, lastCommit: nil])
        XCTAssertEqual(log.abortedTransactionIndex.map(\.lastOffset), [abort])

        // Before the horizon nothing more goes; after it the spent markers go, and the abort's entry with them.
        XCTAssertEqual(try clean(log, at: horizon - 1)?.nextDeleteHorizonMs, horizon)
        XCTAssertEqual(try markers(log).count, 4)
        XCTAssertNil(try clean(log, at: horizon + 1)?.nextDeleteHorizonMs)
        XCTAssertEqual(try markers(log), [secondCommit: nil, lastCommit: nil])
        XCTAssertEqual(log.abortedTransactionIndex, [])
        XCTAssertEqual(log.abortedTransactions(from: 0, upTo: log.logEndOffset).count, 0)

        // A replay of the whole cleaned log (no clean shutdown) finds every transaction ended.
        let end = log.logEndOffset
        let reopened = try open(config(), recoveryPoint: 0)
        XCTAssertEqual(reopened.logEndOffset, end)
        XCTAssertEqual(reopened.lastStableOffset(highWatermark: end), end)
        XCTAssertEqual(reopened.abortedTransactionIndex, [])
        XCTAssertEqual(try entries(reopened, dataOnly: true).filter { !$0.key.hasPrefix("pad") }.map(\.description),
                       ["\(secondCommit - 1):k=b", "\(lastCommit - 1):y=kept"])
    }

    func testTheLastBatchOfAProducerKeepsItsMarker() throws {
        let log = try open(config())
        let commit = try transaction(log, [("k", "old")], producer: 1, sequence: 0, .commit)
        try append(log, [("k", "new")])  // outranks the producer's only batch, which stays empty for its sequence
        try roll(log)
        for now in [5000, 6000, 9000] as [Int64] { _ = try clean(log, at: now) }
        XCTAssertEqual(try markers(log), [commit: nil], "an empty batch of the transaction is still there")
        let reopened = try open(config(), recoveryPoint: 0)
        XCTAssertEqual(reopened.lastStableOffset(highWatermark: reopened.logEndOffset), reopened.logEndOffset)
    }
}
