// Whether a fetcher's log matches the leader's where the fetch starts (Kafka's `validateOffsetAndEpoch`).

enum FetchValidation: Equatable {
    /// The fetcher's log equals the leader's below the fetch offset (Log Matching: same offset and epoch of
    /// the last entry means same prefix).
    case valid
    /// It does not: the fetcher must truncate to at most this end offset, its own end for this epoch.
    case diverging(OffsetAndEpoch)
    /// The answer lies in the leader's snapshot: fetch that snapshot first.
    case snapshot(SnapshotID)
}

extension RaftLog {
    func validateFetch(offset: Int64, lastFetchedEpoch: Int32) -> FetchValidation {
        if offset < startOffset, let snapshot {
            return .snapshot(snapshot.id)
        }
        if offset <= endOffset, epoch(before: offset) == lastFetchedEpoch {
            return .valid
        }
        if let divergence = endOffset(forEpoch: lastFetchedEpoch) {
            return .diverging(divergence)
        }
        guard let snapshot else { preconditionFailure("only a snapshot hides entry epochs") }
        return .snapshot(snapshot.id)
    }
}
