import CrucibleRaft

// One node's disk: the quorum-state file, the latest snapshot, and the log, of which only a prefix is durable.
// A crash keeps exactly what was flushed (plus whatever the synchronous actions wrote).

struct SimulatedDisk {
    var election = ElectionState.initial
    var snapshot: RaftSnapshot?
    private(set) var startOffset: Int64 = 0
    private(set) var entries: [RaftEntry] = []
    /// Entries below this offset survive a crash.
    private(set) var durableEndOffset: Int64 = 0

    var endOffset: Int64 { startOffset + Int64(entries.count) }

    func durableEntry(at offset: Int64) -> RaftEntry? {
        guard offset >= startOffset, offset < durableEndOffset else { return nil }
        return entries[Int(offset - startOffset)]
    }

    mutating func append(_ newEntries: [RaftEntry]) {
        precondition(newEntries.first?.offset == endOffset, "simulated disk: append out of place")
        entries += newEntries
    }

    mutating func truncate(toOffset offset: Int64) {
        guard offset < endOffset else { return }
        entries.removeLast(Int(endOffset - offset))
        durableEndOffset = min(durableEndOffset, offset)
    }

    mutating func flush(upTo offset: Int64) {
        durableEndOffset = max(durableEndOffset, min(offset, endOffset))
    }

    mutating func trimPrefix(toOffset offset: Int64) {
        entries.removeFirst(Int(min(offset, endOffset) - startOffset))
        startOffset = offset
        durableEndOffset = max(durableEndOffset, offset)
    }

    mutating func install(_ newSnapshot: RaftSnapshot) {
        snapshot = newSnapshot
        startOffset = newSnapshot.id.offset
        entries = []
        durableEndOffset = startOffset
    }

    /// Power loss: unflushed entries are gone.
    mutating func crash() {
        entries.removeLast(Int(endOffset - durableEndOffset))
    }

    var recovered: RaftDurableState {
        precondition(durableEndOffset == endOffset, "recover after a crash only")
        return RaftDurableState(election: election, snapshot: snapshot, entries: entries)
    }
}
