import CrucibleRecords
import NIOCore

/// Writes the cleaned copy of one segment into `.cleaned` files beside it, batch by batch, deciding per record
/// as Kafka's Cleaner does: keep it if the offset map holds no newer offset for its key and it is not a
/// tombstone past its delete horizon; aborted data and spent markers go as `TransactionCleaning` decides. Reads
/// the old segment without the log's lock, as fetches do: a non-active segment changes only by truncation, which
/// `PartitionLog.install` detects before anything is swapped.
struct SegmentCleaner {
    let map: OffsetMap
    let transactions: TransactionCleaning
    let nowMs: Int64
    let deleteRetentionMs: Int64
    /// Each idempotent producer's last batch (its last offset): kept, even emptied, for its sequence numbers.
    let lastBatchOfProducer: [Int64: Int64]
    let directory: String
    let indexIntervalBytes: Int
    static let readChunkBytes = LogSegment.scanChunkBytes

    struct Outcome {
        /// The cleaned copy, flushed; nil when the segment would come out unchanged.
        var cleaned: LogSegment?
        /// Bytes of the old segment read: the size `install` checks it still has.
        var sizeRead: Int
        /// The earliest delete horizon still ahead among batches keeping a tombstone.
        var nextDeleteHorizonMs: Int64?
        var recordsRemoved = 0
    }

    func clean(_ segment: LogSegment) throws -> Outcome {
        let sizeRead = segment.size
        let cleaned = try Self.createCleaned(directory, segment.baseOffset, indexIntervalBytes, nowMs: nowMs)
        var outcome = Outcome(cleaned: nil, sizeRead: sizeRead)
        var changed = false
        var pending = ByteBufferAllocator().buffer(capacity: 0)
        var pendingSpans: [BatchSpan] = []
        func writePending() throws {
            guard !pendingSpans.isEmpty else { return }
            try cleaned.append(pending, spans: pendingSpans)
            pending.clear()
            pendingSpans.removeAll()
        }
        try segment.forEachBatch(from: 0, to: sizeRead) { span, buffer in
            try filter(span, in: buffer, into: &pending, &pendingSpans, &changed, &outcome, into: cleaned)
            if pending.readableBytes >= Self.readChunkBytes { try writePending() }
            return true
        }
        try writePending()
        guard changed else {
            try SegmentSwap.removeCleaned(directory, segment.baseOffset)
            return outcome
        }
        try cleaned.txnIndex.materialize()
        try cleaned.flush()
        outcome.cleaned = cleaned
        return outcome
    }

    /// Appends what is kept of one batch to `out`: the original bytes when nothing changes, a rebuilt batch
    /// when records go or a delete horizon is set, an empty batch for a producer's last batch, or nothing.
    private func filter(_ span: BatchSpan, in buffer: ByteBuffer, into out: inout ByteBuffer, _ spans: inout [BatchSpan],
                        _ changed: inout Bool, _ outcome: inout Outcome, into cleaned: LogSegment) throws {
        let header = span.header
        func keep(_ bytes: ByteBuffer) {
            var bytes = bytes
            let start = out.writerIndex
            out.writeBuffer(&bytes)
            spans.append(BatchSpan(header: RecordBatchHeader(out, at: start)!, start: start))
        }
        // Batches past the map belong to a later pass.
        guard header.baseOffset <= map.latestOffset else {
            keep(buffer.getSlice(at: span.start, length: span.size)!)
            if header.isControl { try carryIndexEntry(of: header, into: cleaned) }
            return
        }
        if header.isControl {
            try filterControl(span, in: buffer, keep: keep, &changed, &outcome, into: cleaned)
            return
        }
        let records = try BatchRewriter.records(span, in: buffer)
        let aborted = transactions.readData(header)
        let kept = aborted ? [] : records.filter(retains(header))
        let keepsTombstone = kept.contains { !$0.hasValue }
        let horizon = header.deleteHorizonMs ?? (keepsTombstone ? nowMs + deleteRetentionMs : nil)
        if keepsTombstone, let horizon, horizon > nowMs {
            outcome.nextDeleteHorizonMs = min(outcome.nextDeleteHorizonMs ?? .max, horizon)
        }
        outcome.recordsRemoved += records.count - kept.count
        if kept.count == records.count && !(keepsTombstone && !header.hasDeleteHorizon) {
            keep(buffer.getSlice(at: span.start, length: span.size)!)
            return
        }
        changed = true
        if !kept.isEmpty {
            keep(try BatchRewriter.rebuild(header, keeping: kept, deleteHorizonMs: horizon))
        } else if header.hasProducerId && lastBatchOfProducer[header.producerId] == header.lastOffset {
            keep(BatchRewriter.emptyBatch(header))
        }
    }

    /// A transaction marker stays as it is while its transaction left data (an ABORT marker with its index
    /// entry); once spent, it gets a delete horizon, and goes on the first pass after it.
    private func filterControl(_ span: BatchSpan, in buffer: ByteBuffer, keep: (ByteBuffer) -> Void, _ changed: inout Bool,
                               _ outcome: inout Outcome, into cleaned: LogSegment) throws {
        let header = span.header
        let records = try BatchRewriter.records(span, in: buffer)
        guard let type = ControlRecord.type(ofKey: records.first?.key), let marker = ControlRecord.Marker(rawValue: type) else {
            keep(buffer.getSlice(at: span.start, length: span.size)!)  // another control type: not ours to judge
            return
        }
        var horizon = header.deleteHorizonMs
        if transactions.readMarker(header, marker) == .removable {
            if let due = horizon, due <= nowMs {
                changed = true
                outcome.recordsRemoved += records.count
                return
            }
            if horizon == nil {
                horizon = nowMs + deleteRetentionMs
                changed = true
                keep(try BatchRewriter.rebuild(header, keeping: records, deleteHorizonMs: horizon))
            } else {
                keep(buffer.getSlice(at: span.start, length: span.size)!)
            }
            outcome.nextDeleteHorizonMs = min(outcome.nextDeleteHorizonMs ?? .max, horizon!)
        } else {
            keep(buffer.getSlice(at: span.start, length: span.size)!)
        }
        try carryIndexEntry(of: header, into: cleaned)
    }

    /// A kept ABORT marker keeps its aborted-transaction entry in the cleaned segment's index.
    private func carryIndexEntry(of marker: RecordBatchHeader, into cleaned: LogSegment) throws {
        guard let entry = transactions.indexEntry(producerId: marker.producerId, markerOffset: marker.baseOffset) else { return }
        try cleaned.txnIndex.append(entry)
    }

    private func retains(_ header: RecordBatchHeader) -> (RetainableRecord) -> Bool {
        { record in
            if record.offset > map.latestOffset { return true }
            // Records without a key cannot be compacted; Kafka drops them (a topic made compact later has them).
            guard let key = record.key else { return false }
            if let newest = map.newestOffset(of: key), record.offset < newest { return false }
            if record.hasValue { return true }
            return header.deleteHorizonMs.map { nowMs < $0 } ?? true
        }
    }

    static func createCleaned(_ directory: String, _ baseOffset: Int64, _ indexIntervalBytes: Int,
                              nowMs: Int64) throws -> LogSegment {
        try SegmentSwap.removeCleaned(directory, baseOffset)  // a pass that failed earlier may have left some
        return try LogSegment(directory: directory, baseOffset: baseOffset, indexIntervalBytes: indexIntervalBytes,
                              nowMs: nowMs, suffix: SegmentSwap.cleanedSuffix)
    }
}

extension LogSegment {
    static let scanChunkBytes = 1 << 20

    /// Walks the whole batches from `position` to `end`, reading about a MiB at a time (one pread per batch would
    /// dominate a cleaning of small batches); `body` gets each batch and the buffer holding it, false stops.
    func forEachBatch(from position: Int, to end: Int, _ body: (BatchSpan, ByteBuffer) throws -> Bool) throws {
        var position = position
        while position < end {
            var chunk = try log.read(at: position, count: min(Self.scanChunkBytes, end - position))
            var spans = try RecordBatch.spans(in: chunk, allowPartialTail: true)
            if spans.isEmpty {
                // A batch larger than the chunk, or a torn tail: read it whole, or fail.
                guard let header = try header(at: position), position + header.totalSize <= end else {
                    throw StorageError("\(log.path): no whole batch at position \(position)")
                }
                chunk = try log.read(at: position, count: header.totalSize)
                spans = try RecordBatch.spans(in: chunk, allowPartialTail: false)
            }
            for span in spans {
                guard try body(span, chunk) else { return }
                position += span.size
            }
        }
    }
}
