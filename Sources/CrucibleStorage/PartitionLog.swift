import CrucibleMutations
import CrucibleRecords
import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore

public struct AppendResult: Equatable, Sendable {
    public var baseOffset: Int64
    public var lastOffset: Int64
    /// True when the batch was a retry of one already in the log (nothing was written).
    public var duplicate: Bool
}

public enum AppendError: Error, Equatable {
    case outOfOrderSequence(String)
    case invalidProducerEpoch(String)
    case invalidTxnState(String)
    case transactionCoordinatorFenced(String)
}

/// One partition's log on disk: `<topic>-<partition>/` holding segments named by base offset. All mutation
/// happens under one lock; reads take a snapshot of the segment list and then read without it.
public final class PartitionLog: @unchecked Sendable {
    public let topic: String
    public let partition: Int32
    public let directory: String
    // Internal, not private: the cleaner (Cleaner/) snapshots segments and producer state and swaps segments
    // under this lock.
    let lock = NIOLock()
    var segments: [LogSegment] = []
    private var config: LogConfig
    var producerState = ProducerStateTable()
    /// Bumped by every truncation or reset: a cleaning pass begun before one must not swap or checkpoint.
    var truncations = 0
    /// Told (outside the lock) where the log was truncated to, so the cleaner checkpoint can follow it down.
    var truncationObserver: (@Sendable (Int64) -> Void)?
    /// Told how long each flush of this log took, in milliseconds (Kafka's LogFlushRateAndTimeMs).
    var flushObserver: (@Sendable (Double) -> Void)?
    var startOffset: Int64 = 0
    private var unflushedMessages: Int64 = 0
    private var lastFlushMs: Int64
    private var flushedOffset: Int64 = 0
    /// Where each leader epoch starts in this log, oldest first (Kafka's leader-epoch cache, KIP-101). Rebuilt
    /// from batch headers on open, so it always matches the log.
    private var epochStarts: [(epoch: Int32, startOffset: Int64)] = []
    private let logger: Logger

    /// Opens (and, after an unclean shutdown, recovers from `recoveryPoint`) the log in `directory`.
    public init(directory: String, topic: String, partition: Int32, config: LogConfig, recoveryPoint: Int64?,
                nowMs: Int64, logger: Logger = Logger(label: "crucible.log")) throws {
        self.directory = directory
        self.topic = topic
        self.partition = partition
        self.config = config
        self.logger = logger
        lastFlushMs = nowMs
        try FileSystem.makeDirectory(directory)
        try loadSegments(recoveryPoint: recoveryPoint, nowMs: nowMs)
        try rebuildProducerState()
        if Mutation.forgetProducerStateOnRestart.isActive { producerState.removeAll() }
        try rebuildEpochStarts()
        flushedOffset = recoveryPoint ?? logEndOffsetLocked
    }

    private func rebuildEpochStarts() throws {
        epochStarts = []
        for segment in segments {
            var position = 0
            while let header = try segment.header(at: position) {
                noteEpoch(header)
                position += header.totalSize
            }
        }
    }

    private func noteEpoch(_ header: RecordBatchHeader) {
        guard header.partitionLeaderEpoch >= 0 else { return }
        if let last = epochStarts.last, last.epoch >= header.partitionLeaderEpoch { return }
        epochStarts.append((header.partitionLeaderEpoch, header.baseOffset))
    }

    /// The epoch of the last batch in the log (-1 when none carries one).
    public var lastEpoch: Int32 { lock.withLock { epochStarts.last?.epoch ?? -1 } }

    /// For `epoch`, the largest epoch in this log that is <= it, and the offset where that epoch ends: the start
    /// of the next epoch, or the log end for the latest. (-1, -1) when the log holds no such epoch. This is what
    /// OffsetForLeaderEpoch and a Fetch's diverging epoch answer (KIP-101, KIP-595).
    public func endOffset(forEpoch epoch: Int32) -> (epoch: Int32, endOffset: Int64) {
        lock.withLock {
            guard let index = epochStarts.lastIndex(where: { $0.epoch <= epoch }) else { return (-1, -1) }
            let end = index + 1 < epochStarts.count ? epochStarts[index + 1].startOffset : logEndOffsetLocked
            return (epochStarts[index].epoch, end)
        }
    }

    public var name: String { "\(topic)-\(partition)" }

    public var logEndOffset: Int64 { lock.withLock { logEndOffsetLocked } }
    public var logStartOffset: Int64 { lock.withLock { startOffset } }
    /// Offset below which everything has been fsynced: the recovery point Kafka checkpoints.
    public var recoveryPoint: Int64 { lock.withLock { flushedOffset } }
    public var sizeBytes: Int { lock.withLock { segments.reduce(0) { $0 + $1.size } } }
    /// Idempotent producers with batches in this log (DescribeProducers).
    public var activeProducers: [ActiveProducer] { lock.withLock { producerState.active } }
    /// Producer ids with state here (Kafka's ProducerIdCount counts these).
    public var producerCount: Int { lock.withLock { producerState.producers.count } }
    public var segmentBaseOffsets: [Int64] { lock.withLock { segments.map(\.baseOffset) } }
    public var currentConfig: LogConfig { lock.withLock { config } }
    public func update(config: LogConfig) { lock.withLock { self.config = config } }

    /// Once the files are deleted (topic deletion, a replica moved away) the log answers with where it ended
    /// and refuses changes, so a request still holding it fails instead of crashing the node.
    var logEndOffsetLocked: Int64 { segments.last?.nextOffset ?? deletedAtOffset }
    private var deletedAtOffset: Int64 = 0

    func checkOpen() throws {
        guard !segments.isEmpty else { throw StorageError("\(name) has been deleted") }
    }

    // MARK: Opening

    private func loadSegments(recoveryPoint: Int64?, nowMs: Int64) throws {
        // A cleaning interrupted by a crash is finished or undone first, so only whole segments are listed.
        try SegmentSwap.finishInterrupted(in: directory, logger: logger)
        let baseOffsets = try FileSystem.list(directory).compactMap { name -> Int64? in
            guard name.hasSuffix(".log"), name.count == 24 else { return nil }
            return Int64(name.prefix(20))
        }.sorted()
        // Index files without a log (a crash mid-roll) are rebuilt from nothing by the segment itself.
        var cutTail = false
        for base in baseOffsets {
            if cutTail {
                try LogSegment(directory: directory, baseOffset: base, indexIntervalBytes: config.indexIntervalBytes,
                               nowMs: nowMs).delete()
                continue
            }
            let segment = try LogSegment(directory: directory, baseOffset: base,
                                         indexIntervalBytes: config.indexIntervalBytes, nowMs: nowMs)
            let needsRecovery = recoveryPoint.map { segment.baseOffset >= $0 || isLastOrSpans(base, baseOffsets, $0) }
            if needsRecovery ?? false {
                let cut = try segment.recover(maxBatchBytes: config.maxMessageBytes)
                if cut > 0 {
                    logger.warning("recovery cut \(cut) bytes of torn or corrupt tail from \(name)/\(LogSegment.fileName(base, ".log"))")
                    cutTail = true
                }
            } else {
                try segment.open(maxBatchBytes: config.maxMessageBytes)
            }
            if let previous = segments.last, previous.nextOffset > segment.baseOffset, !segment.isEmpty {
                throw StorageError("\(name): segment \(base) overlaps the one before it")
            }
            segments.append(segment)
        }
        if segments.isEmpty {
            segments.append(try LogSegment(directory: directory, baseOffset: 0,
                                           indexIntervalBytes: config.indexIntervalBytes, nowMs: nowMs))
        }
        startOffset = segments.first!.baseOffset
    }

    /// The segment holding the recovery point must be rescanned too: it may have unflushed batches.
    private func isLastOrSpans(_ base: Int64, _ all: [Int64], _ recoveryPoint: Int64) -> Bool {
        guard let index = all.firstIndex(of: base) else { return true }
        return index == all.count - 1 || all[index + 1] > recoveryPoint
    }

    private func rebuildProducerState() throws {
        let end = logEndOffsetLocked
        var from = startOffset
        let snapshots = try FileSystem.list(directory).compactMap { name -> Int64? in
            guard name.hasSuffix(".snapshot"), name.count == 29 else { return nil }
            return Int64(name.prefix(20))
        }.sorted()
        for offset in snapshots.reversed() where offset <= end {
            let path = directory + "/" + LogSegment.fileName(offset, ".snapshot")
            if let table = ProducerStateTable(serialized: try FileSystem.readAll(path)) {
                producerState = table
                from = offset
                break
            }
        }
        for offset in snapshots where offset > end {
            try FileSystem.remove(directory + "/" + LogSegment.fileName(offset, ".snapshot"))
        }
        // Markers from `from` on are replayed, so their aborted-transaction entries are written again.
        for segment in segments where segment.nextOffset > from {
            try segment.txnIndex.truncate(toOffset: from)
            var position = segment.baseOffset >= from ? 0 : (try segment.locate(from)?.position ?? segment.size)
            while let header = try segment.header(at: position) {
                if header.isControl && header.isTransactional {
                    let batch = try segment.log.read(at: position, count: header.totalSize)
                    try noteMarker(BatchSpan(header: header, start: batch.readerIndex), in: batch, segment: segment)
                } else {
                    producerState.update(header)
                }
                position += header.totalSize
            }
        }
    }

    private func writeProducerSnapshot() throws {
        let offset = logEndOffsetLocked
        try FileSystem.writeAtomically(directory + "/" + LogSegment.fileName(offset, ".snapshot"),
                                       producerState.serialized())
        let old = try FileSystem.list(directory).compactMap { name -> Int64? in
            guard name.hasSuffix(".snapshot"), name.count == 29 else { return nil }
            return Int64(name.prefix(20))
        }.sorted().dropLast(2)
        for stale in old { try FileSystem.remove(directory + "/" + LogSegment.fileName(stale, ".snapshot")) }
    }

    // MARK: Appending

    /// Appends one validated batch as leader: checks the producer's sequence, stamps offsets and the leader
    /// epoch in place (outside the CRC), and writes it.
    /// `verification` is the guard of a KIP-890 verification taken for this batch's producer: the append is refused
    /// (INVALID_TXN_STATE) if a marker ended a transaction of the producer since.
    public func appendAsLeader(_ batch: inout ByteBuffer, span: BatchSpan, leaderEpoch: Int32, origin: AppendOrigin = .client,
                               verification: UInt64? = nil, nowMs: Int64) throws -> AppendResult {
        try lock.withLock {
            try checkOpen()
            if let verification, producerState.startsTransaction(span.header),
               !producerState.holds(verification, producerId: span.header.producerId) {
                throw AppendError.invalidTxnState("producer \(span.header.producerId)'s transaction ended after its write was verified")
            }
            switch producerState.check(span.header, origin: origin) {
            case .duplicate(let base):
                return AppendResult(baseOffset: base, lastOffset: base + Int64(span.header.lastOffsetDelta),
                                    duplicate: true)
            case .outOfOrder(let why): throw AppendError.outOfOrderSequence(why)
            case .fencedEpoch(let why): throw AppendError.invalidProducerEpoch(why)
            case .invalidTxnState(let why): throw AppendError.invalidTxnState(why)
            case .append: break
            }
            let base = logEndOffsetLocked
            RecordBatchHeader.assign(baseOffset: base, leaderEpoch: leaderEpoch, in: &batch, at: span.start)
            var header = span.header
            header.baseOffset = base
            header.partitionLeaderEpoch = leaderEpoch
            if Mutation.dropBatchOnRoll.isActive {
                let segmentCount = segments.count
                try maybeRoll(incomingBytes: batch.readableBytes, nowMs: nowMs, lastOffset: header.lastOffset)
                if segments.count > segmentCount {
                    producerState.update(header)
                    return AppendResult(baseOffset: base, lastOffset: header.lastOffset, duplicate: false)
                }
            }
            try appendLocked(batch, spans: [BatchSpan(header: header, start: span.start)], nowMs: nowMs)
            return AppendResult(baseOffset: base, lastOffset: header.lastOffset, duplicate: false)
        }
    }

    /// Appends batches that already carry their offsets and epochs (a follower copying its leader). Only whole
    /// batches with a good CRC are taken: a fetch response may end in a partial batch. Returns the new log end.
    public func appendAsFollower(_ batches: ByteBuffer, nowMs: Int64) throws -> Int64 {
        try lock.withLock {
            try checkOpen()
            var spans = try RecordBatch.spans(in: batches, allowPartialTail: true)
            if let bad = spans.firstIndex(where: { !RecordBatch.crcMatches($0, in: batches) }) {
                logger.warning("\(name): batch at offset \(spans[bad].header.baseOffset) from the leader fails its CRC")
                spans.removeSubrange(bad...)
            }
            guard let first = spans.first else { return logEndOffsetLocked }
            // A compacted leader has gaps where the cleaner dropped whole batches, so the first batch may start
            // past the log end (as in Kafka); never before it, and offsets only grow.
            guard first.header.baseOffset >= logEndOffsetLocked,
                  zip(spans, spans.dropFirst()).allSatisfy({ $1.header.baseOffset > $0.header.lastOffset }) else {
                throw StorageError("\(name): follower append at \(first.header.baseOffset), log ends at \(logEndOffsetLocked)")
            }
            let end = spans.last!.start + spans.last!.size
            var whole = batches  // same indices as the spans, without the partial tail
            whole.moveWriterIndex(to: end)
            try appendLocked(whole, spans: spans, nowMs: nowMs)
            return logEndOffsetLocked
        }
    }

    func appendLocked(_ batches: ByteBuffer, spans: [BatchSpan], nowMs: Int64) throws {
        try maybeRoll(incomingBytes: batches.readableBytes, nowMs: nowMs, lastOffset: spans.last!.header.lastOffset)
        try segments.last!.append(batches, spans: spans)
        for span in spans {
            if span.header.isControl && span.header.isTransactional {
                try noteMarker(span, in: batches, segment: segments.last!)
            } else {
                producerState.update(span.header)
            }
            noteEpoch(span.header)
        }
        unflushedMessages += spans.reduce(0) { $0 + Int64($1.header.recordCount) }
        if unflushedMessages >= config.flushMessages { try flushLocked(nowMs: nowMs) }
    }

    private func maybeRoll(incomingBytes: Int, nowMs: Int64, lastOffset: Int64) throws {
        let active = segments.last!
        guard !active.isEmpty else { return }
        let full = active.size + incomingBytes > config.segmentBytes
        // A compacted log also rolls at max.compaction.lag.ms: the active segment is never cleaned.
        let rollMs = config.compacts ? min(config.segmentMs, config.maxCompactionLagMs) : config.segmentMs
        let old = nowMs - active.createdMs >= rollMs
        // Relative offsets in the index are 32-bit.
        let offsetsOverflow = lastOffset - active.baseOffset > Int64(Int32.max)
        guard full || old || offsetsOverflow else { return }
        try rollLocked(nowMs: nowMs)
    }

    private func rollLocked(nowMs: Int64) throws {
        let base = logEndOffsetLocked
        try segments.last!.flush()
        segments.append(try LogSegment(directory: directory, baseOffset: base,
                                       indexIntervalBytes: config.indexIntervalBytes, nowMs: nowMs))
        try writeProducerSnapshot()
        logger.debug("rolled \(name) at offset \(base)")
    }

    public func roll(nowMs: Int64) throws {
        try lock.withLock {
            try checkOpen()
            if !segments.last!.isEmpty { try rollLocked(nowMs: nowMs) }
        }
    }

    // MARK: Flushing, retention, truncation

    public func flushIfDue(nowMs: Int64) throws {
        try lock.withLock {
            try checkOpen()
            if unflushedMessages > 0 && nowMs - lastFlushMs >= config.flushMs { try flushLocked(nowMs: nowMs) }
        }
    }

    public func flush(nowMs: Int64) throws {
        try lock.withLock {
            try checkOpen()
            try flushLocked(nowMs: nowMs)
        }
    }

    private func flushLocked(nowMs: Int64) throws {
        let started = DispatchTime.now().uptimeNanoseconds
        for segment in segments where segment.nextOffset > flushedOffset { try segment.flush() }
        flushObserver?(Double(DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)
        flushedOffset = logEndOffsetLocked
        unflushedMessages = 0
        lastFlushMs = nowMs
    }

    /// Deletes whole segments past `retention.ms` or beyond `retention.bytes`, never the active one, and never
    /// past `maxOffset` (the high watermark: unreplicated data is not retention's to drop).
    @discardableResult
    public func deleteRetainedSegments(nowMs: Int64, maxOffset: Int64) throws -> Int {
        try lock.withLock {
            try checkOpen()
            // `compact` alone keeps every segment: the cleaner, not retention, decides what goes.
            guard config.deletes else { return 0 }
            var total = Int64(segments.reduce(0) { $0 + $1.size })
            var deleted = 0
            while segments.count > 1 {
                let oldest = segments[0]
                // A segment the cleaner emptied has no timestamp left; there is nothing in it to retain.
                let expired = config.retentionMs >= 0 && (oldest.isEmpty || oldest.maxTimestamp >= 0
                    && nowMs - oldest.maxTimestamp > config.retentionMs)
                let oversize = config.retentionBytes >= 0 && total - Int64(oldest.size) >= config.retentionBytes
                guard (expired || oversize) && segments[1].baseOffset <= maxOffset else { break }
                try oldest.delete()
                total -= Int64(oldest.size)
                segments.removeFirst()
                deleted += 1
            }
            startOffset = max(startOffset, segments[0].baseOffset)
            return deleted
        }
    }

    /// Removes everything at or after `offset` (follower divergence, KIP-101).
    public func truncate(to offset: Int64) throws {
        let truncated = try lock.withLock { () -> Bool in
            try checkOpen()
            guard offset < logEndOffsetLocked else { return false }
            truncations += 1
            while segments.count > 1 && segments.last!.baseOffset >= offset {
                try segments.removeLast().delete()
            }
            try segments.last!.truncate(to: offset)
            flushedOffset = min(flushedOffset, logEndOffsetLocked)
            producerState.removeAll()
            try rebuildProducerState()
            epochStarts.removeAll { $0.startOffset >= offset }
            return true
        }
        if truncated { truncationObserver?(offset) }
    }

    /// Deletes the whole segments that end at or below `offset` (a snapshot covers them), never the active one.
    /// The log start moves to the first segment kept, which may still hold some batches below `offset`.
    public func deleteSegments(endingAtOrBelow offset: Int64) throws {
        try lock.withLock {
            try checkOpen()
            try deleteWholeSegmentsLocked(endingAtOrBelow: offset)
            startOffset = segments[0].baseOffset
        }
    }

    /// Moves the log start forward to `offset` (DeleteRecords on a leader; a follower taking its leader's log
    /// start): reads below it are refused from now on, and whole segments below it go. Never past the log end.
    @discardableResult
    public func advanceStartOffset(to offset: Int64) throws -> Bool {
        try lock.withLock {
            try checkOpen()
            let target = min(offset, logEndOffsetLocked)
            guard target > startOffset else { return false }
            startOffset = target
            try deleteWholeSegmentsLocked(endingAtOrBelow: target)
            return true
        }
    }

    /// Never the active segment.
    private func deleteWholeSegmentsLocked(endingAtOrBelow offset: Int64) throws {
        while segments.count > 1, segments[0].nextOffset <= offset {
            try segments.removeFirst().delete()
        }
    }

    /// Deletes every segment and starts an empty log at `offset` (a replica installing a snapshot that replaces
    /// its whole log).
    public func reset(to offset: Int64, nowMs: Int64) throws {
        try lock.withLock {
            truncations += 1
            for segment in segments { try segment.delete() }
            segments = [try LogSegment(directory: directory, baseOffset: offset,
                                       indexIntervalBytes: config.indexIntervalBytes, nowMs: nowMs)]
            startOffset = offset
            flushedOffset = offset
            unflushedMessages = 0
            producerState.removeAll()
        }
        truncationObserver?(offset)
    }

    /// Flushes, writes the producer snapshot, and leaves the files ready for a recovery-free start.
    public func close(nowMs: Int64) throws {
        try lock.withLock {
            guard !segments.isEmpty else { return }
            try flushLocked(nowMs: nowMs)
            try writeProducerSnapshot()
        }
    }

    /// Takes the log out of service and deletes its directory (in the background: `LogManager.retire`).
    public func deleteFiles() throws {
        try lock.withLock {
            deletedAtOffset = logEndOffsetLocked
            segments.removeAll()
            try LogManager.retire(directory)
        }
    }

    // MARK: Reading

    public enum ReadError: Error, Equatable {
        case offsetOutOfRange(start: Int64, end: Int64)
    }

    /// Slices of whole batches from `offset`, at most `maxBytes` (but always the first batch, KIP-74), stopping
    /// before `endOffset` (the high watermark or last stable offset for consumers).
    public func read(from offset: Int64, maxBytes: Int, endOffset: Int64) throws -> [LogSlice] {
        let (candidates, start, end) = lock.withLock { (segments, startOffset, logEndOffsetLocked) }
        guard offset >= start && offset <= end else { throw ReadError.offsetOutOfRange(start: start, end: end) }
        var slices: [LogSlice] = []
        var remaining = maxBytes
        var next = offset
        let firstIndex = (candidates.lastIndex { $0.baseOffset <= offset }) ?? 0
        for segment in candidates[firstIndex...] where next < endOffset {
            guard let slice = try segment.read(from: next, maxBytes: max(remaining, 1), endOffset: endOffset) else {
                continue
            }
            if !slices.isEmpty && slice.length > remaining { break }
            slices.append(slice)
            remaining -= slice.length
            if remaining <= 0 { break }
            next = segment.nextOffset
        }
        return slices
    }

    /// The same bytes as `read`, copied into one buffer (replication, tools, tests).
    public func readBytes(from offset: Int64, maxBytes: Int, endOffset: Int64) throws -> ByteBuffer {
        var out = ByteBufferAllocator().buffer(capacity: 0)
        for slice in try read(from: offset, maxBytes: maxBytes, endOffset: endOffset) {
            var bytes = try slice.file.read(at: slice.position, count: slice.length)
            out.writeBuffer(&bytes)
        }
        return out
    }

    /// The first offset whose record timestamp is >= `timestamp`, with that record's timestamp (ListOffsets).
    public func offset(forTimestamp timestamp: Int64) throws -> (offset: Int64, timestamp: Int64)? {
        // Records below the log start (after DeleteRecords) are gone to readers, so never an answer.
        let (candidates, start) = lock.withLock { (segments, startOffset) }
        for segment in candidates where segment.maxTimestamp >= timestamp {
            var position = try segment.locate(segment.timeIndex.floorOffset(for: timestamp))?.position ?? 0
            while let header = try segment.header(at: position) {
                if header.maxTimestamp >= timestamp {
                    let bytes = try segment.log.read(at: position, count: header.totalSize)
                    let span = BatchSpan(header: header, start: bytes.readerIndex)
                    if let hit = try RecordBatch.records(span, in: bytes).first(where: { $0.timestamp >= timestamp && $0.offset >= start }) {
                        return (hit.offset, hit.timestamp)
                    }
                }
                position += header.totalSize
            }
        }
        return nil
    }

    /// Offset and timestamp of the record with the largest timestamp (ListOffsets MAX_TIMESTAMP, KIP-734).
    public func maxTimestampEntry() -> (offset: Int64, timestamp: Int64)? {
        lock.withLock {
            segments.filter { $0.maxTimestamp >= 0 }.max { $0.maxTimestamp < $1.maxTimestamp }
                .map { ($0.offsetOfMaxTimestamp, $0.maxTimestamp) }
        }
    }

    /// Every batch header in the log, in order (dump tools and tests).
    public func batchHeaders() throws -> [RecordBatchHeader] {
        let candidates = lock.withLock { segments }
        var headers: [RecordBatchHeader] = []
        for segment in candidates {
            var position = 0
            while let header = try segment.header(at: position) {
                headers.append(header)
                position += header.totalSize
            }
        }
        return headers
    }
}
