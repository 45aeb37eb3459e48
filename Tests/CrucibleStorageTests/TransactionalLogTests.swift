import CrucibleRecords
import Foundation
import NIOCore
import XCTest
@testable import CrucibleStorage

/// Transactions on one partition's log: open transactions hold the last stable offset back, markers end them,
/// aborted ones are indexed with their marker, and all of it survives restarts and truncation.
final class TransactionalLogTests: XCTestCase {
    var directory: String!

    override func setUp() {
        directory = NSTemporaryDirectory() + "crucible-txnlog-\(UUID().uuidString)/t-0"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent)
    }

    func open(segmentBytes: Int = 1 << 20, recoveryPoint: Int64? = nil) throws -> PartitionLog {
        var config = LogConfig()
        config.segmentBytes = segmentBytes
        config.indexIntervalBytes = 256
        return try PartitionLog(directory: directory, topic: "t", partition: 0, config: config, recoveryPoint: recoveryPoint, nowMs: 0)
    }

    /// Appends one batch of `values` from producer `pid` (-1: a plain producer) with the given sequence.
    @discardableResult
    func send(_ log: PartitionLog, _ values: [String], pid: Int64 = -1, epoch: Int16 = 0, sequence: Int32 = -1,
              transactional: Bool = true, origin: AppendOrigin = .client, verification: UInt64? = nil) throws -> AppendResult {
        var builder = RecordBatchBuilder(codec: .none)
        builder.producerId = pid
        builder.producerEpoch = pid >= 0 ? epoch : -1
        builder.baseSequence = sequence
        builder.isTransactional = pid >= 0 && transactional
        for value in values { builder.append(Record(timestamp: 1000, key: nil, value: Array(value.utf8))) }
        var buffer = try builder.build()
        let span = BatchSpan(header: RecordBatchHeader(buffer, at: buffer.readerIndex)!, start: buffer.readerIndex)
        return try log.appendAsLeader(&buffer, span: span, leaderEpoch: 0, origin: origin, verification: verification, nowMs: 0)
    }

    @discardableResult
    func end(_ log: PartitionLog, _ marker: ControlRecord.Marker, pid: Int64, epoch: Int16 = 0, coordinatorEpoch: Int32 = 0) throws -> Int64 {
        try log.appendMarker(marker, producerId: pid, producerEpoch: epoch, coordinatorEpoch: coordinatorEpoch,
                             leaderEpoch: 0, nowMs: 0).baseOffset
    }

    /// What a read_committed consumer delivers below the last stable offset, dropping aborted batches the way
    /// clients do: a producer listed as aborted from an offset is skipped from there until its ABORT marker.
    func readCommitted(_ log: PartitionLog) throws -> [String] {
        let end = log.lastStableOffset(highWatermark: log.logEndOffset)
        let aborted = log.abortedTransactions(from: log.logStartOffset, upTo: end)
        let bytes = try log.readBytes(from: log.logStartOffset, maxBytes: 1 << 30, endOffset: end)
        var pending = aborted[...]
        var skipping = Set<Int64>()
        var delivered: [String] = []
        for span in try RecordBatch.spans(in: bytes, allowPartialTail: false) where span.header.baseOffset < end {
            while let next = pending.first, next.firstOffset <= span.header.baseOffset {
                skipping.insert(next.producerId)
                pending = pending.dropFirst()
            }
            let records = try RecordBatch.records(span, in: bytes)
            if span.header.isControl {
                if let record = records.first, ControlRecord.marker(in: record)?.marker == .abort { skipping.remove(span.header.producerId) }
                continue
            }
            if span.header.isTransactional && skipping.contains(span.header.producerId) { continue }
            delivered += records.map { String(decoding: $0.value!, as: UTF8.self) }
        }
        return delivered
    }

    func testTheLastStableOffsetWaitsForTheOldestOpenTransactionAndForMarkersToReplicate() throws {
        let log = try open()
        try send(log, ["a"], pid: 1, sequence: 0)          // 0
        try send(log, ["b"], pid: 2, sequence: 0)          // 1
        try send(log, ["plain"])                           // 2
        XCTAssertEqual(log.lastStableOffset(highWatermark: 3), 0)
        XCTAssertEqual(try end(log, .commit, pid: 1), 3)
        XCTAssertEqual(log.lastStableOffset(highWatermark: 3), 0, "the commit marker is not replicated yet")
        XCTAssertEqual(log.lastStableOffset(highWatermark: 4), 1, "producer 2's transaction is still open")
        XCTAssertEqual(try end(log, .abort, pid: 2), 4)
        XCTAssertEqual(log.lastStableOffset(highWatermark: 4), 1)
        XCTAssertEqual(log.lastStableOffset(highWatermark: 5), 5)
        XCTAssertEqual(try readCommitted(log), ["a", "plain"])
        XCTAssertEqual(log.abortedTransactionIndex, [AbortedTxn(producerId: 2, firstOffset: 1, lastOffset: 4, lastStableOffset: 5)])
    }

    func testAnAbortIsIndexedWithItsMarkerInALaterSegmentAndListedForFetchesOverlappingIt() throws {
        let log = try open(segmentBytes: 200)
        try send(log, ["x1", String(repeating: "x", count: 90)], pid: 5, sequence: 0)  // 0-1
        try send(log, ["p", String(repeating: "p", count: 90)])                          // 2-3
        try send(log, ["q", String(repeating: "q", count: 90)])                          // 4-5
        let marker = try end(log, .abort, pid: 5)
        XCTAssertGreaterThan(log.segmentBaseOffsets.count, 1)
        let markerSegment = log.segmentBaseOffsets.last { $0 <= marker }!
        XCTAssertNotEqual(markerSegment, 0, "the marker is in a later segment than the data")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".txnindex") }
        XCTAssertEqual(files, [LogSegment.fileName(markerSegment, ".txnindex")])
        XCTAssertEqual(log.abortedTransactions(from: 0, upTo: 2).map(\.producerId), [5])
        XCTAssertEqual(log.abortedTransactions(from: 4, upTo: marker).map(\.firstOffset), [0], "data before the fetch, marker after")
        XCTAssertTrue(log.abortedTransactions(from: marker + 1, upTo: marker + 10).isEmpty)
        XCTAssertEqual(try readCommitted(log), ["p", String(repeating: "p", count: 90), "q", String(repeating: "q", count: 90)])
    }

    func testMarkersFromAnOlderProducerEpochOrCoordinatorEpochAreRefused() throws {
        let log = try open()
        try send(log, ["a"], pid: 1, epoch: 3, sequence: 0)
        try end(log, .commit, pid: 1, epoch: 3, coordinatorEpoch: 7)
        XCTAssertThrowsError(try end(log, .abort, pid: 1, epoch: 2, coordinatorEpoch: 7)) {
            guard case AppendError.invalidProducerEpoch = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try end(log, .abort, pid: 1, epoch: 3, coordinatorEpoch: 6)) {
            guard case AppendError.transactionCoordinatorFenced = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertNoThrow(try end(log, .abort, pid: 1, epoch: 3, coordinatorEpoch: 8), "a repeated or newer coordinator's marker is taken")
    }

    func testAMarkerOfANewerEpochFencesTheOldEpochAndTheNewOneStartsAtSequenceZero() throws {
        let log = try open()
        try send(log, ["a"], pid: 1, epoch: 0, sequence: 0)
        try end(log, .abort, pid: 1, epoch: 1)   // the coordinator fenced the producer (timeout or a new instance)
        XCTAssertThrowsError(try send(log, ["late"], pid: 1, epoch: 0, sequence: 1)) {
            guard case AppendError.invalidProducerEpoch = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try send(log, ["b"], pid: 1, epoch: 1, sequence: 4)) {
            guard case AppendError.outOfOrderSequence = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertNoThrow(try send(log, ["b"], pid: 1, epoch: 1, sequence: 0))
    }

    func testSequencesRunOnAcrossTransactionsOfOneEpochAndMarkersDoNotEnterTheRetryWindow() throws {
        let log = try open()
        let first = try send(log, ["a", "b"], pid: 1, sequence: 0)
        try end(log, .commit, pid: 1)
        XCTAssertTrue(try send(log, ["a", "b"], pid: 1, sequence: 0).duplicate, "a retry across the marker is still a duplicate")
        XCTAssertEqual(first.baseOffset, 0)
        XCTAssertThrowsError(try send(log, ["c"], pid: 1, sequence: 0)) {
            guard case AppendError.outOfOrderSequence = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try send(log, ["c"], pid: 1, sequence: 2).baseOffset, 3)
        XCTAssertEqual(log.lastStableOffset(highWatermark: log.logEndOffset), 3)
    }

    func testCoordinatorWrittenBatchesCarryNoSequenceAndAreNeverDuplicates() throws {
        let log = try open()
        try send(log, ["offsets-1"], pid: 4, sequence: -1, origin: .coordinator)
        XCTAssertFalse(try send(log, ["offsets-2"], pid: 4, sequence: -1, origin: .coordinator).duplicate)
        XCTAssertEqual(log.logEndOffset, 2)
        XCTAssertEqual(log.lastStableOffset(highWatermark: 2), 0)
        try end(log, .commit, pid: 4)
        XCTAssertEqual(try readCommitted(log), ["offsets-1", "offsets-2"])
    }

    /// KIP-890: a marker landing between a producer's verification and its first write ends the transaction the
    /// write was verified for, so the write is refused instead of opening a transaction nobody will end.
    func testAMarkerBetweenVerificationAndTheFirstWriteRefusesTheWrite() throws {
        let log = try open()
        try send(log, ["a"], pid: 3, sequence: 0)
        let late = log.beginVerification(producerId: 3)
        try end(log, .abort, pid: 3)
        XCTAssertThrowsError(try send(log, ["delayed"], pid: 3, sequence: 1, verification: late)) {
            guard case AppendError.invalidTxnState = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(log.lastStableOffset(highWatermark: log.logEndOffset), log.logEndOffset, "no hanging transaction")
        let fresh = log.beginVerification(producerId: 3)
        XCTAssertNoThrow(try send(log, ["next"], pid: 3, sequence: 1, verification: fresh))
        XCTAssertNoThrow(try send(log, ["more"], pid: 3, sequence: 2, verification: 12_345), "an open transaction needs no guard")
    }

    func testAPlainBatchFromAProducerWithATransactionOpenIsRefused() throws {
        let log = try open()
        try send(log, ["a"], pid: 1, sequence: 0)
        XCTAssertThrowsError(try send(log, ["b"], pid: 1, sequence: 1, transactional: false)) {
            guard case AppendError.invalidTxnState = $0 else { return XCTFail("\($0)") }
        }
        try end(log, .commit, pid: 1)
        XCTAssertNoThrow(try send(log, ["b"], pid: 1, sequence: 1, transactional: false))
    }

    func testOpenTransactionsAndTheAbortedIndexSurviveCleanAndUncleanRestarts() throws {
        var log: PartitionLog? = try open(segmentBytes: 300)
        for round in 0..<6 {
            try send(log!, ["r\(round)", String(repeating: "v", count: 60)], pid: 1, sequence: Int32(round * 2))
            try end(log!, round % 2 == 0 ? .abort : .commit, pid: 1)
        }
        try send(log!, ["open"], pid: 2, sequence: 0)
        let openAt = log!.logEndOffset - 1
        try send(log!, ["after"])
        let index = log!.abortedTransactionIndex
        let committed = try readCommitted(log!)
        XCTAssertEqual(index.count, 3)
        XCTAssertEqual(log!.lastStableOffset(highWatermark: log!.logEndOffset), openAt)

        try log!.close(nowMs: 0)
        log = try open(segmentBytes: 300)
        XCTAssertEqual(log!.lastStableOffset(highWatermark: log!.logEndOffset), openAt, "the snapshot keeps the open transaction")
        XCTAssertEqual(log!.abortedTransactionIndex, index)

        // Unclean: no snapshot past the start, the index files gone; recovery replays the log and rebuilds both.
        log = nil
        for name in try FileManager.default.contentsOfDirectory(atPath: directory)
        where name.hasSuffix(".txnindex") || name.hasSuffix(".snapshot") {
            try FileManager.default.removeItem(atPath: directory + "/" + name)
        }
        log = try open(segmentBytes: 300, recoveryPoint: 0)
        XCTAssertEqual(log!.abortedTransactionIndex, index)
        XCTAssertEqual(log!.lastStableOffset(highWatermark: log!.logEndOffset), openAt)
        XCTAssertEqual(try readCommitted(log!), committed)
        XCTAssertEqual(log!.activeProducers.first { $0.producerId == 2 }?.currentTxnStartOffset, openAt)
    }

    func testATruncationBelowAMarkerReopensItsTransactionAndDropsItsIndexEntry() throws {
        let log = try open()
        try send(log, ["a"], pid: 1, sequence: 0)   // 0
        let marker = try end(log, .abort, pid: 1)   // 1
        XCTAssertEqual(log.abortedTransactionIndex.count, 1)
        try log.truncate(to: marker)
        XCTAssertTrue(log.abortedTransactionIndex.isEmpty)
        XCTAssertEqual(log.lastStableOffset(highWatermark: log.logEndOffset), 0)
        XCTAssertThrowsError(try send(log, ["b"], pid: 1, sequence: 1, transactional: false))
    }

    func testAProducerSnapshotWrittenBeforeTransactionsStillLoads() throws {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        buffer.writeBytes(Array("CPS1".utf8))
        buffer.writeInteger(Int32(1))
        buffer.writeInteger(Int64(42))
        buffer.writeInteger(Int16(3))
        buffer.writeInteger(Int8(1))
        buffer.writeInteger(Int32(0))
        buffer.writeInteger(Int32(4))
        buffer.writeInteger(Int64(10))
        buffer.writeInteger(Int64(14))
        let crc = buffer.withUnsafeReadableBytes { CRC32C.checksum($0) }
        buffer.writeInteger(crc)
        let table = try XCTUnwrap(ProducerStateTable(serialized: Array(buffer.readableBytesView)))
        XCTAssertEqual(table.active.map(\.producerId), [42])
        XCTAssertEqual(table.active.first?.lastSequence, 4)
        XCTAssertEqual(table.active.first?.currentTxnStartOffset, -1)
        XCTAssertEqual(ProducerStateTable(serialized: table.serialized())?.active, table.active)
    }

    /// Random interleavings of three transactional producers, a plain one, commits and aborts, with unclean
    /// restarts: what read_committed delivers is exactly the plain data and the committed transactions' data
    /// below the last stable offset, in log order.
    func testReadCommittedDeliversExactlyTheCommittedDataOfRandomInterleavings() throws {
        for seed in UInt64(1)...40 {
            setUp()
            var state = seed   // Knuth's MMIX LCG: enough variety, and a failing seed replays
            func next() -> UInt64 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return state >> 33
            }
            var log: PartitionLog? = try open(segmentBytes: 400)
            var sequence: [Int64: Int32] = [1: 0, 2: 0, 3: 0]
            var openTxns: [Int64: [String]] = [:]
            var expected: [(offset: Int64, value: String)] = []
            for step in 0..<60 {
                let pid = Int64(next() % 4)   // 0: the plain producer
                let value = "s\(seed)-\(step)"
                switch (pid, next() % 3) {
                case (0, _):
                    expected.append((try send(log!, [value]).baseOffset, value))
                case (_, 0) where openTxns[pid] != nil:
                    let marker: ControlRecord.Marker = next() % 2 == 0 ? .commit : .abort
                    try end(log!, marker, pid: pid)
                    openTxns[pid] = nil
                default:
                    try send(log!, [value], pid: pid, sequence: sequence[pid]!)
                    sequence[pid]! += 1
                    openTxns[pid, default: []].append(value)
                }
                if next() % 15 == 0 {
                    log = nil
                    log = try open(segmentBytes: 400, recoveryPoint: 0)
                }
            }
            // The committed model: plain values, plus each committed transaction's values, all below the LSO.
            let lso = log!.lastStableOffset(highWatermark: log!.logEndOffset)
            let firstOpen = log!.activeProducers.compactMap { $0.currentTxnStartOffset >= 0 ? $0.currentTxnStartOffset : nil }.min()
            XCTAssertEqual(lso, firstOpen ?? log!.logEndOffset, "seed \(seed)")
            let delivered = try readCommitted(log!)
            let model = try committedModel(log!, below: lso)
            XCTAssertEqual(delivered, model, "seed \(seed)")
            XCTAssertTrue(expected.filter { $0.offset < lso }.map(\.value).allSatisfy(delivered.contains), "seed \(seed)")
            tearDown()
        }
    }

    /// The committed values below `end`, judged from the markers themselves rather than the index.
    private func committedModel(_ log: PartitionLog, below end: Int64) throws -> [String] {
        let bytes = try log.readBytes(from: 0, maxBytes: 1 << 30, endOffset: log.logEndOffset)
        var pending: [Int64: [(Int64, [String])]] = [:]
        var outcome: [Int64: Bool] = [:]   // batch offset → committed
        var plain: [(Int64, [String])] = []
        for span in try RecordBatch.spans(in: bytes, allowPartialTail: false) {
            let records = try RecordBatch.records(span, in: bytes)
            let pid = span.header.producerId
            if span.header.isControl {
                let committed = ControlRecord.marker(in: records[0])?.marker == .commit
                for (offset, _) in pending[pid] ?? [] { outcome[offset] = committed }
                pending[pid] = nil
            } else if span.header.isTransactional {
                pending[pid, default: []].append((span.header.baseOffset, records.map { String(decoding: $0.value!, as: UTF8.self) }))
            } else {
                plain.append((span.header.baseOffset, records.map { String(decoding: $0.value!, as: UTF8.self) }))
            }
        }
        var all = plain.map { ($0.0, $0.1, true) }
        for (_, batches) in pending { all += batches.map { ($0.0, $0.1, false) } }   // still open: not delivered
        let decided = try RecordBatch.spans(in: bytes, allowPartialTail: false).filter { outcome[$0.header.baseOffset] != nil }
        all += try decided.map { span in
            (span.header.baseOffset, try RecordBatch.records(span, in: bytes).map { String(decoding: $0.value!, as: UTF8.self) },
             outcome[span.header.baseOffset]!)
        }
        return all.filter { $0.2 && $0.0 < end }.sorted { $0.0 < $1.0 }.flatMap(\.1)
    }
}
