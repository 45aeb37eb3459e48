import CrucibleRecords
import NIOCore

/// Transactions on a partition's log: the markers a coordinator has the leader write, the last stable offset
/// they hold back, and the aborted transactions a read_committed Fetch hands to consumers.
extension PartitionLog {
    /// Writes the COMMIT or ABORT marker ending producer `producerId`'s transaction here, as leader. Refused when
    /// the producer has moved to a newer epoch (INVALID_PRODUCER_EPOCH) or a newer coordinator has written here
    /// (TRANSACTION_COORDINATOR_FENCED). A marker for a producer with nothing open here is written all the same:
    /// the coordinator cannot know, and followers and the producer's epoch must see it.
    public func appendMarker(_ marker: ControlRecord.Marker, producerId: Int64, producerEpoch: Int16, coordinatorEpoch: Int32,
                             leaderEpoch: Int32, nowMs: Int64) throws -> AppendResult {
        try lock.withLock {
            try checkOpen()
            switch producerState.checkMarker(producerId: producerId, producerEpoch: producerEpoch, coordinatorEpoch: coordinatorEpoch) {
            case .fencedEpoch(let why): throw AppendError.invalidProducerEpoch(why)
            case .coordinatorFenced(let why): throw AppendError.transactionCoordinatorFenced(why)
            case .append: break
            }
            let base = logEndOffsetLocked
            var batch = try ControlRecord.endTransactionBatch(marker, coordinatorEpoch: coordinatorEpoch, producerId: producerId,
                                                              producerEpoch: producerEpoch, timestamp: nowMs, baseOffset: base)
            let span = try RecordBatch.spans(in: batch, allowPartialTail: false)[0]
            RecordBatchHeader.assign(baseOffset: base, leaderEpoch: leaderEpoch, in: &batch, at: span.start)
            var header = span.header
            header.partitionLeaderEpoch = leaderEpoch
            try appendLocked(batch, spans: [BatchSpan(header: header, start: span.start)], nowMs: nowMs)
            return AppendResult(baseOffset: base, lastOffset: base, duplicate: false)
        }
    }

    /// A marker now in `segment` (appended, or replayed in recovery): the producer's transaction ends, and an
    /// aborted one is indexed with the marker. Called under the lock.
    func noteMarker(_ span: BatchSpan, in buffer: ByteBuffer, segment: LogSegment) throws {
        guard let record = try RecordBatch.records(span, in: buffer).first,
              let (marker, coordinatorEpoch) = ControlRecord.marker(in: record) else { return }
        guard let completed = producerState.complete(span.header, marker: marker, coordinatorEpoch: coordinatorEpoch),
              completed.aborted else { return }
        try segment.txnIndex.append(AbortedTxn(producerId: completed.producerId, firstOffset: completed.firstOffset,
                                               lastOffset: completed.lastOffset,
                                               lastStableOffset: producerState.lastStableOffset(after: completed)))
    }

    /// The offset read_committed consumers read up to: the high watermark, held back to the first offset of the
    /// oldest transaction still open here or ended by a marker the high watermark has not reached; never below
    /// the log start.
    public func lastStableOffset(highWatermark: Int64) -> Int64 {
        lock.withLock {
            let unstable = producerState.firstUnstableOffset(highWatermark: highWatermark) ?? highWatermark
            return max(min(unstable, highWatermark), startOffset)
        }
    }

    /// The aborted transactions a read_committed Fetch from `from` that reads up to `upTo` must list, as
    /// (producer, first offset) in offset order. An entry lives with its marker, which may be segments after the
    /// transaction's data, so every segment from the one holding `from` on is searched.
    public func abortedTransactions(from: Int64, upTo: Int64) -> [(producerId: Int64, firstOffset: Int64)] {
        lock.withLock {
            segments.filter { $0.nextOffset > from }.flatMap { $0.txnIndex.overlapping(from: from, upTo: upTo) }
        }
        .sorted { $0.firstOffset < $1.firstOffset }
        .map { ($0.producerId, $0.firstOffset) }
    }

    /// Whether `header`'s batch would start its producer's transaction here, so needs verifying (KIP-890).
    public func startsTransaction(_ header: RecordBatchHeader) -> Bool {
        lock.withLock { producerState.startsTransaction(header) }
    }

    /// Takes a verification guard for the producer, before asking its coordinator (KIP-890).
    public func beginVerification(producerId: Int64) -> UInt64 {
        lock.withLock { producerState.beginVerification(producerId: producerId) }
    }

    /// Every aborted-transaction entry of the log, oldest marker first (tools and tests).
    public var abortedTransactionIndex: [AbortedTxn] {
        lock.withLock { segments.flatMap(\.txnIndex.entries) }
    }
}
