/// What the cleaner needs of a log, taken under its lock; and the swap of a cleaned segment, made under it.
extension PartitionLog {
    struct CleaningSnapshot {
        let segments: [LogSegment]
        let truncations: Int
        let lastBatchOfProducer: [Int64: Int64]
        let abortedTransactions: [AbortedTxn]
    }

    func cleaningSnapshot() -> CleaningSnapshot? {
        lock.withLock {
            guard !segments.isEmpty else { return nil }
            return CleaningSnapshot(segments: segments, truncations: truncations,
                                    lastBatchOfProducer: producerState.producers.compactMapValues { $0.batches.last?.lastOffset },
                                    abortedTransactions: segments.flatMap(\.txnIndex.entries))
        }
    }

    /// The number of truncations so far (the cleaner checkpoint is only written if none happened in a pass).
    var truncationCount: Int { lock.withLock { truncations } }

    /// Puts the cleaned copy of `old` in its place, unless the log changed under the cleaner: `old` gone or
    /// active, its size changed, or any truncation since the pass began (the copy could resurrect cut data).
    /// Returns false, leaving the cleaned files to the caller, when it refuses.
    func install(_ cleaned: LogSegment, replacing old: LogSegment, sizeRead: Int, truncationsAtStart: Int,
                 config: LogConfig, nowMs: Int64, crashAfterStep: Int? = nil) throws -> Bool {
        try lock.withLock {
            guard truncations == truncationsAtStart, let index = segments.firstIndex(where: { $0 === old }),
                  index < segments.count - 1, old.size == sizeRead else { return false }
            try SegmentSwap.commit(directory, old.baseOffset, crashAfterStep: crashAfterStep)
            let installed = try LogSegment(directory: directory, baseOffset: old.baseOffset,
                                           indexIntervalBytes: config.indexIntervalBytes, nowMs: nowMs)
            try installed.open(maxBatchBytes: config.maxMessageBytes)
            segments[index] = installed
            return true
        }
    }
}
