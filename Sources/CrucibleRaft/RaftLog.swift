// The node's copy of the replicated log, kept in memory by the core (the metadata log stays small because
// snapshots replace its prefix). The driver mirrors every change to disk through actions.

public struct RaftLog: Sendable {
    /// The latest snapshot; the log starts where it ends.
    public private(set) var snapshot: RaftSnapshot?
    /// Entries from `startOffset` on, contiguous.
    public private(set) var entries: [RaftEntry]
    /// Entries below this offset are durable.
    public private(set) var flushedEndOffset: Int64
    /// Flushes asked for and not yet reported, oldest first: the offset asked for, lowered by any truncation
    /// since, because entries written again after a truncation are not covered by an earlier flush.
    private var pendingFlushes: [(requested: Int64, coveredEnd: Int64)] = []

    init(snapshot: RaftSnapshot?, entries: [RaftEntry]) {
        self.snapshot = snapshot
        self.entries = entries
        flushedEndOffset = 0
        flushedEndOffset = endOffset
        assertContiguous()
    }

    public var startOffset: Int64 { snapshot?.id.offset ?? 0 }
    public var startEpoch: Int32 { snapshot?.id.epoch ?? 0 }
    public var endOffset: Int64 { startOffset + Int64(entries.count) }
    public var lastEpoch: Int32 { entries.last?.epoch ?? startEpoch }
    public var end: OffsetAndEpoch { OffsetAndEpoch(offset: endOffset, epoch: lastEpoch) }
    public var isFullyFlushed: Bool { flushedEndOffset == endOffset }

    public func entry(at offset: Int64) -> RaftEntry? {
        guard offset >= startOffset, offset < endOffset else { return nil }
        return entries[Int(offset - startOffset)]
    }

    /// The epoch of the entry just before `endOffset`, if this log knows it (the snapshot knows its last one).
    func epoch(before endOffset: Int64) -> Int32? {
        if endOffset == startOffset { return startEpoch }
        return entry(at: endOffset - 1)?.epoch
    }

    public func entries(from start: Int64, upTo end: Int64, max: Int = .max) -> [RaftEntry] {
        let lower = Swift.max(start, startOffset)
        var upper = Swift.min(end, endOffset)
        guard lower < upper else { return [] }
        if Int64(max) < upper - lower { upper = lower + Int64(max) }
        return Array(entries[Int(lower - startOffset)..<Int(upper - startOffset)])
    }

    /// Kafka's `endOffsetForEpoch`: the largest epoch not above `epoch` that this log has, and the end offset of
    /// its entries. Nil when the answer lies inside the snapshot, where entry epochs are no longer known.
    func endOffset(forEpoch epoch: Int32) -> OffsetAndEpoch? {
        if let index = entries.lastIndex(where: { $0.epoch <= epoch }) {
            return OffsetAndEpoch(offset: entries[index].offset + 1, epoch: entries[index].epoch)
        }
        if startOffset == 0 || startEpoch <= epoch {
            return OffsetAndEpoch(offset: startOffset, epoch: startOffset == 0 ? 0 : startEpoch)
        }
        return nil
    }

    mutating func append(_ newEntries: [RaftEntry]) {
        guard let first = newEntries.first else { return }
        precondition(first.offset == endOffset, "append at \(first.offset) but log ends at \(endOffset)")
        precondition(first.epoch >= lastEpoch, "entry epochs must not decrease")
        assert(newEntries.enumerated().allSatisfy { $0.element.offset == first.offset + Int64($0.offset) },
               "appended entries must be contiguous")
        entries.append(contentsOf: newEntries)
    }

    mutating func truncate(toOffset offset: Int64) {
        precondition(offset >= startOffset, "cannot truncate into the snapshot")
        guard offset < endOffset else { return }
        entries.removeLast(Int(endOffset - offset))
        flushedEndOffset = min(flushedEndOffset, offset)
        for index in pendingFlushes.indices {
            pendingFlushes[index].coveredEnd = min(pendingFlushes[index].coveredEnd, offset)
        }
    }

    /// Records a flush request for everything appended so far; returns the offset to flush up to.
    mutating func requestFlush() -> Int64 {
        pendingFlushes.append((endOffset, endOffset))
        return endOffset
    }

    var hasPendingFlush: Bool { !pendingFlushes.isEmpty }

    /// The driver finished the flush asked for at `offset` (and every earlier one). Returns whether the
    /// flushed end moved.
    mutating func flushCompleted(upTo offset: Int64) -> Bool {
        let before = flushedEndOffset
        while let first = pendingFlushes.first, first.requested <= offset {
            pendingFlushes.removeFirst()
            flushedEndOffset = max(flushedEndOffset, min(first.coveredEnd, endOffset))
        }
        return flushedEndOffset != before
    }

    /// A snapshot taken locally: keep it and drop the entries it covers.
    mutating func trimPrefix(to newSnapshot: RaftSnapshot) {
        precondition(newSnapshot.id.offset > startOffset && newSnapshot.id.offset <= endOffset)
        precondition(epoch(before: newSnapshot.id.offset) == newSnapshot.id.epoch)
        entries.removeFirst(Int(newSnapshot.id.offset - startOffset))
        snapshot = newSnapshot
        // The snapshot itself is durable, so its end counts as flushed even if those entries were not.
        flushedEndOffset = max(flushedEndOffset, startOffset)
    }

    /// A snapshot fetched from the leader replaces the whole log.
    mutating func replace(with newSnapshot: RaftSnapshot) {
        snapshot = newSnapshot
        entries.removeAll()
        flushedEndOffset = newSnapshot.id.offset
        for index in pendingFlushes.indices {
            pendingFlushes[index].coveredEnd = min(pendingFlushes[index].coveredEnd, flushedEndOffset)
        }
    }

    private func assertContiguous() {
        assert(entries.enumerated().allSatisfy { $0.element.offset == startOffset + Int64($0.offset) },
               "log entries must be contiguous from the start offset")
    }
}
