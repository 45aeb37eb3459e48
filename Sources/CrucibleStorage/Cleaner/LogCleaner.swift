import CrucibleRecords
import Logging

/// What one cleaning pass did.
public struct CleanResult: Sendable, Equatable {
    /// Everything below this is now clean: the next pass's first dirty offset (the cleaner checkpoint).
    public var endOffset: Int64
    public var segmentsRewritten: Int
    public var recordsRemoved: Int
    /// The earliest delete horizon still ahead among kept tombstones; a pass after it removes them.
    public var nextDeleteHorizonMs: Int64?
    /// The log's truncation count when the pass began: the checkpoint is written only if it still holds.
    var truncationsAtStart: Int
}

/// Kafka's log compaction for `cleanup.policy` containing `compact`: builds an offset map (newest offset per
/// key) over the dirty section, then rewrites every non-active segment below the map's end keeping, per key,
/// only the newest record, with offsets unchanged (so compacted logs have gaps). Each rewritten segment is
/// swapped in on its own: any prefix of the swaps is a correct log, because a record only goes when a newer
/// one for its key exists at a higher offset, and segments are swapped oldest first (so aborted data goes before
/// its marker can, and a marker goes only on a pass after its horizon, see `TransactionCleaning`). One instance serves one
/// thread at a time (the broker's cleaner service).
public final class LogCleaner {
    /// `log.cleaner.dedupe.buffer.size`: a bound on the offset map.
    public let dedupeBufferBytes: Int
    /// Tests stop a swap after this many renames to simulate a crash there.
    var crashAfterSwapStep: Int?
    private let logger: Logger

    public init(dedupeBufferBytes: Int = 128 << 20, logger: Logger = Logger(label: "crucible.cleaner")) {
        self.dedupeBufferBytes = dedupeBufferBytes
        self.logger = logger
    }

    /// Cleans `log` if it is compacted and due. `checkpoint` is where the last pass ended; `upperBound` is the
    /// first offset that must not be cleaned (the high watermark: records not yet replicated may still be
    /// truncated). nil when nothing was due or the log changed under the pass (nothing to checkpoint then).
    public func clean(_ log: PartitionLog, checkpoint: Int64?, upperBound: Int64, nowMs: Int64,
                      tombstonesDue: Bool = false) throws -> CleanResult? {
        let config = log.currentConfig
        let logStart = log.logStartOffset
        guard config.compacts, let snapshot = log.cleaningSnapshot(), snapshot.segments.count > 1 else { return nil }
        let plan = try CleaningPlan(segments: snapshot.segments, logStartOffset: logStart, checkpoint: checkpoint,
                                    upperBound: upperBound, config: config, nowMs: nowMs)
        guard plan.isDue(config, tombstonesDue: tombstonesDue) else { return nil }
        let transactions = TransactionCleaning(abortedTransactions: snapshot.abortedTransactions)
        let map = try buildOffsetMap(snapshot.segments, plan, transactions)
        let writer = SegmentCleaner(map: map, transactions: transactions, nowMs: nowMs, deleteRetentionMs: config.deleteRetentionMs,
                                    lastBatchOfProducer: snapshot.lastBatchOfProducer, directory: log.directory,
                                    indexIntervalBytes: config.indexIntervalBytes)
        var result = CleanResult(endOffset: map.latestOffset + 1, segmentsRewritten: 0, recordsRemoved: 0,
                                 nextDeleteHorizonMs: nil, truncationsAtStart: snapshot.truncations)
        for segment in snapshot.segments.dropLast() where segment.baseOffset <= map.latestOffset {
            let outcome = try writer.clean(segment)
            if let horizon = outcome.nextDeleteHorizonMs {
                result.nextDeleteHorizonMs = min(result.nextDeleteHorizonMs ?? .max, horizon)
            }
            guard let cleaned = outcome.cleaned else { continue }
            guard try log.install(cleaned, replacing: segment, sizeRead: outcome.sizeRead,
                                  truncationsAtStart: snapshot.truncations, config: config, nowMs: nowMs,
                                  crashAfterStep: crashAfterSwapStep) else {
                try SegmentSwap.removeCleaned(log.directory, segment.baseOffset)
                logger.info("\(log.name): the log changed while it was being cleaned; trying again later")
                return nil
            }
            result.segmentsRewritten += 1
            result.recordsRemoved += outcome.recordsRemoved
        }
        logger.debug("\(log.name): cleaned up to \(result.endOffset), \(result.segmentsRewritten) segment(s) rewritten, \(result.recordsRemoved) record(s) removed")
        return result
    }

    /// The newest offset of each key in [firstDirty, firstUncleanable), whole batches only, stopping at a
    /// segment boundary once the map is full. Everything below the first dirty offset counts as covered: it was
    /// cleaned before, so only tombstones past their horizon go from there when nothing newer is in the map.
    /// Aborted data is left out: it is dropped, and must not outrank an older committed record of its key.
    private func buildOffsetMap(_ segments: [LogSegment], _ plan: CleaningPlan,
                                _ transactions: TransactionCleaning) throws -> OffsetMap {
        var map = OffsetMap(bytesMax: dedupeBufferBytes)
        map.latestOffset = plan.firstDirtyOffset - 1
        for segment in segments.dropLast() where segment.nextOffset > plan.firstDirtyOffset {
            guard segment.baseOffset < plan.firstUncleanableOffset else { break }
            let start = try segment.locate(plan.firstDirtyOffset)?.position ?? segment.size
            var reachedBound = false
            try segment.forEachBatch(from: start, to: segment.size) { span, buffer in
                let header = span.header
                guard header.lastOffset < plan.firstUncleanableOffset else { reachedBound = true; return false }
                if !header.isControl && header.recordCount > 0 && transactions.abortedTransaction(of: header) == nil {
                    for record in try BatchRewriter.records(span, in: buffer) where record.offset >= plan.firstDirtyOffset {
                        if let key = record.key { map.put(key, offset: record.offset) }
                    }
                }
                map.latestOffset = max(map.latestOffset, header.lastOffset)
                return true
            }
            if reachedBound { break }
            if map.isFull { break }
        }
        return map
    }
}
