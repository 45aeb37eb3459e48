import CrucibleGroups
import CrucibleProtocol

/// The transactional ids whose coordinator lives on one `__transaction_state` partition, as a pure state
/// machine: requests, clock ticks, write completions and marker acknowledgements in; replies, records to write
/// and markers to send out. The shell owns the log, the timers and the connections to partition leaders.
///
/// The rules it lives by (Kafka's two-phase commit): one write at a time per id; EndTxn is answered once
/// Prepare* is durable, and only then do markers go out; Complete* is written only once every partition has
/// its marker; a new coordinator resends the markers of every Prepare* it loads.
public struct TxnShard: Sendable {
    public let settings: TxnSettings
    /// The leader epoch of the partition this shard is loaded from: markers carry it, so a deposed coordinator's
    /// are refused (TRANSACTION_COORDINATOR_FENCED).
    public let coordinatorEpoch: Int32
    public internal(set) var transactions: [String: TransactionMetadata] = [:]
    /// The one write in flight per id, by write id.
    var pendingWrites: [UInt64: PendingWrite] = [:]
    var writing: [String: UInt64] = [:]
    var nextWriteId: UInt64 = 1

    struct PendingWrite: Sendable {
        var transactionalId: String
        /// The metadata once the write is durable; nil for a tombstone.
        var target: TransactionMetadata?
        var then: FollowUp
    }

    enum FollowUp: Sendable {
        case reply(TxnToken, TxnReply)
        /// Prepare* of an EndTxn: answer it, then send the markers.
        case endTxn(TxnToken)
        /// Prepare* of a fence or a timeout: send the markers.
        case markers
        /// Complete*, once every marker is in: written again until it succeeds (or the shard is unloaded).
        case complete(MarkerJob)
        case nothing
    }

    public init(settings: TxnSettings, coordinatorEpoch: Int32) {
        self.settings = settings
        self.coordinatorEpoch = coordinatorEpoch
    }

    // MARK: Requests

    /// InitProducerId with a transactional id: a first epoch, or the next one (fencing older instances). An
    /// open transaction is aborted first (the producer is told CONCURRENT_TRANSACTIONS and retries). `expected`
    /// is KIP-360's current id and epoch from a producer recovering from an abortable error. `freshProducerId`
    /// is used when the id needs a producer id (first use, or its epochs exhausted).
    public mutating func initProducerId(_ id: String, timeoutMs: Int32, expected: (producerId: Int64, epoch: Int16)?,
                                        freshProducerId: Int64, token: TxnToken, nowMs: Int64) -> [TxnEffect] {
        func answer(_ code: ErrorCode, _ pid: Int64 = -1, _ epoch: Int16 = -1) -> [TxnEffect] {
            [.reply(token, .initProducerId(code, producerId: pid, producerEpoch: epoch))]
        }
        guard !id.isEmpty else { return answer(.invalidRequest) }
        guard timeoutMs > 0 && timeoutMs <= settings.maxTimeoutMs else { return answer(.invalidTransactionTimeout) }
        guard writing[id] == nil else { return answer(.concurrentTransactions) }
        guard let meta = transactions[id] else {
            let fresh = TransactionMetadata(transactionalId: id, producerId: freshProducerId, producerEpoch: 0, timeoutMs: timeoutMs,
                                            state: .empty, nowMs: nowMs)
            return write(id, fresh, then: .reply(token, .initProducerId(.none, producerId: freshProducerId, producerEpoch: 0)))
        }
        if let expected, expected.producerId >= 0 {
            // A retry of the call that already moved the id on gets the same answer.
            if (expected.producerId, expected.epoch) == (meta.lastProducerId, meta.lastProducerEpoch) && meta.state.isIdle {
                return answer(.none, meta.producerId, meta.producerEpoch)
            }
            guard (expected.producerId, expected.epoch) == (meta.producerId, meta.producerEpoch) else { return answer(.producerFenced) }
        }
        switch meta.state {
        case .prepareCommit, .prepareAbort, .prepareEpochFence, .dead:
            return answer(.concurrentTransactions)
        case .ongoing where settings.plantedBug != .noAbortOnInit:
            return fenceAndAbort(meta, nowMs: nowMs, then: .markers) + answer(.concurrentTransactions)
        default:
            var next = meta
            next.lastProducerId = meta.producerId
            next.lastProducerEpoch = meta.producerEpoch
            if meta.producerEpoch >= settings.maxEpoch {
                next.producerId = freshProducerId
                next.producerEpoch = 0
            } else {
                next.producerEpoch += 1
            }
            next.timeoutMs = timeoutMs
            next.state = .empty
            next.partitions = []
            next.startMs = -1
            next.lastUpdateMs = nowMs
            return write(id, next, then: .reply(token, .initProducerId(.none, producerId: next.producerId, producerEpoch: next.producerEpoch)))
        }
    }

    /// AddPartitionsToTxn (and AddOffsetsToTxn, with the group's `__consumer_offsets` partition): the first
    /// partition added begins the transaction.
    public mutating func addPartitions(_ id: String, producerId: Int64, epoch: Int16, partitions: [TopicPartitionKey],
                                       token: TxnToken, nowMs: Int64) -> [TxnEffect] {
        func answer(_ code: ErrorCode) -> [TxnEffect] { [.reply(token, .addPartitions(code))] }
        guard let meta = transactions[id] else { return answer(.invalidProducerIdMapping) }
        if let refusal = refusal(meta, producerId: producerId, epoch: epoch) { return answer(refusal) }
        guard writing[id] == nil, meta.state == .ongoing || meta.state.isIdle else { return answer(.concurrentTransactions) }
        if meta.state == .ongoing && Set(partitions).isSubset(of: meta.partitions) { return answer(.none) }
        var next = meta
        if meta.state != .ongoing {
            next.partitions = []
            next.startMs = nowMs
        }
        next.state = .ongoing
        next.partitions.formUnion(partitions)
        next.lastUpdateMs = nowMs
        return write(id, next, then: .reply(token, .addPartitions(.none)))
    }

    /// KIP-890's check, asked by a partition leader before a producer's first transactional write there: is the
    /// partition in this producer's ongoing transaction? Writes nothing. A partition that is not answers
    /// `notInTransaction` (INVALID_TXN_STATE before AddPartitionsToTxn v5, TRANSACTION_ABORTABLE from it); while a
    /// transition is being written, CONCURRENT_TRANSACTIONS (the leader has the producer retry).
    public func verify(_ id: String, producerId: Int64, epoch: Int16, partitions: [TopicPartitionKey],
                       notInTransaction: ErrorCode) -> [TopicPartitionKey: ErrorCode] {
        let code: (TopicPartitionKey) -> ErrorCode
        if let meta = transactions[id] {
            if let refusal = refusal(meta, producerId: producerId, epoch: epoch) {
                code = { _ in refusal }
            } else if writing[id] != nil {
                code = { _ in .concurrentTransactions }   // a transition in flight: ask again
            } else if meta.state != .ongoing {
                code = { _ in notInTransaction }
            } else {
                code = { meta.partitions.contains($0) ? .none : notInTransaction }
            }
        } else {
            code = { _ in .invalidProducerIdMapping }
        }
        return Dictionary(uniqueKeysWithValues: partitions.map { ($0, code($0)) })
    }

    /// EndTxn: Prepare* is written; once durable the producer is answered and the markers go out.
    public mutating func endTxn(_ id: String, producerId: Int64, epoch: Int16, commit: Bool, token: TxnToken,
                                nowMs: Int64) -> [TxnEffect] {
        func answer(_ code: ErrorCode) -> [TxnEffect] { [.reply(token, .endTxn(code))] }
        guard let meta = transactions[id] else { return answer(.invalidProducerIdMapping) }
        if let refusal = refusal(meta, producerId: producerId, epoch: epoch) { return answer(refusal) }
        guard writing[id] == nil else { return answer(.concurrentTransactions) }
        switch (meta.state, commit) {
        case (.ongoing, _):
            var next = meta
            next.state = commit ? .prepareCommit : .prepareAbort
            next.lastUpdateMs = nowMs
            return write(id, next, then: .endTxn(token))
        case (.completeCommit, true), (.completeAbort, false):
            return answer(.none)   // a retry of an EndTxn that completed
        case (.prepareCommit, true), (.prepareAbort, false):
            return answer(.concurrentTransactions)
        default:
            return answer(.invalidTxnState)
        }
    }

    /// Every partition of `job` has its marker: the transaction completes.
    public mutating func markersWritten(_ job: MarkerJob, nowMs: Int64) -> [TxnEffect] {
        guard let meta = transactions[job.transactionalId], writing[job.transactionalId] == nil,
              meta.state == (job.commit ? .prepareCommit : .prepareAbort),
              meta.producerId == job.producerId, meta.producerEpoch == job.producerEpoch else { return [] }
        return complete(meta, job: job, nowMs: nowMs)
    }

    /// Transactions open longer than their timeout are aborted with a new epoch, which fences their producer.
    public mutating func tick(nowMs: Int64) -> [TxnEffect] {
        var effects: [TxnEffect] = []
        for id in transactions.keys.sorted() where writing[id] == nil {
            let meta = transactions[id]!
            if meta.state == .ongoing && meta.startMs + Int64(meta.timeoutMs) <= nowMs {
                effects.append(.note("aborting transaction of \(id) (producer \(meta.producerId) epoch \(meta.producerEpoch)): "
                                     + "open longer than its timeout of \(meta.timeoutMs) ms"))
                effects += fenceAndAbort(meta, nowMs: nowMs, then: .markers)
            } else if meta.state.isIdle && meta.lastUpdateMs + settings.idExpirationMs <= nowMs {
                effects += write(id, nil, then: .nothing)
            }
        }
        return effects
    }

    // MARK: Writes

    /// A write finished: `error` is `.none` once the record is committed (under the high watermark), and any other
    /// code only when it was not appended at all. A record once appended is reported when committed or never: if
    /// the partition's leadership moves first, the shard is unloaded, and the new leader's log decides. (Reporting
    /// a failure for a record that stays in the log would let memory and log part ways.)
    public mutating func writeCompleted(_ writeId: UInt64, error: ErrorCode, nowMs: Int64) -> [TxnEffect] {
        guard let pending = pendingWrites.removeValue(forKey: writeId) else { return [] }
        writing.removeValue(forKey: pending.transactionalId)
        guard error == .none else {
            let code = GroupShard.coordinatorError(for: error, offsets: false)
            switch pending.then {
            case .reply(let token, let reply): return [.reply(token, Self.failing(reply, code))]
            case .endTxn(let token): return [.reply(token, .endTxn(code))]
            case .complete(let job):
                // Every marker is in: only the record is missing, so it is written again (the shell backs off).
                return transactions[pending.transactionalId].map { complete($0, job: job, nowMs: nowMs) } ?? []
            case .markers, .nothing: return []
            }
        }
        transactions[pending.transactionalId] = pending.target
        switch pending.then {
        case .reply(let token, let reply):
            return [.reply(token, reply)]
        case .endTxn(let token):
            let reply = TxnEffect.reply(token, .endTxn(.none))
            if settings.plantedBug == .markersBeforePrepareDurable { return [reply] }
            return [reply] + markers(for: pending.target!, nowMs: nowMs)
        case .markers:
            return markers(for: pending.target!, nowMs: nowMs)
        case .complete, .nothing:
            return []
        }
    }

    // MARK: Loading

    /// Rebuilds the ids of this partition from its records in log order, as a new coordinator does before
    /// answering; `resume` then sends the markers of every transaction caught in Prepare*.
    public static func loaded(from records: [TransactionLogRecord], settings: TxnSettings, coordinatorEpoch: Int32) -> TxnShard {
        var shard = TxnShard(settings: settings, coordinatorEpoch: coordinatorEpoch)
        for record in records {
            shard.transactions[record.transactionalId] = record.value.map {
                TransactionMetadata(transactionalId: record.transactionalId, value: $0)
            }
        }
        return shard
    }

    /// The markers of every transaction a previous coordinator left in Prepare*, again, with this one's epoch.
    public mutating func resume(nowMs: Int64) -> [TxnEffect] {
        var effects: [TxnEffect] = []
        for id in transactions.keys.sorted() where transactions[id]!.state.isPreparing && writing[id] == nil {
            effects += markers(for: transactions[id]!, nowMs: nowMs)
        }
        return effects
    }

    /// The partition moved: every request waiting here is answered NOT_COORDINATOR, and nothing more is written.
    public mutating func unload() -> [TxnEffect] {
        var effects: [TxnEffect] = []
        for (_, pending) in pendingWrites.sorted(by: { $0.key < $1.key }) {
            switch pending.then {
            case .reply(let token, let reply): effects.append(.reply(token, Self.failing(reply, .notCoordinator)))
            case .endTxn(let token): effects.append(.reply(token, .endTxn(.notCoordinator)))
            case .markers, .complete, .nothing: break
            }
        }
        pendingWrites.removeAll()
        writing.removeAll()
        transactions.removeAll()
        return effects
    }

    // MARK: Helpers

    private func refusal(_ meta: TransactionMetadata, producerId: Int64, epoch: Int16) -> ErrorCode? {
        if producerId != meta.producerId { return .invalidProducerIdMapping }
        if epoch == meta.producerEpoch || (settings.plantedBug == .acceptStaleEpoch && epoch < meta.producerEpoch) { return nil }
        return .producerFenced
    }

    private static func failing(_ reply: TxnReply, _ code: ErrorCode) -> TxnReply {
        switch reply {
        case .initProducerId: .initProducerId(code, producerId: -1, producerEpoch: -1)
        case .addPartitions: .addPartitions(code)
        case .endTxn: .endTxn(code)
        }
    }

    /// Aborts `meta`'s open transaction under the next epoch, so its producer (a zombie, or one past its
    /// timeout) is fenced: its requests and late writes carry an older epoch.
    private mutating func fenceAndAbort(_ meta: TransactionMetadata, nowMs: Int64, then: FollowUp) -> [TxnEffect] {
        var next = meta
        if meta.producerEpoch < settings.maxEpoch { next.producerEpoch += 1 }
        next.state = .prepareAbort
        next.lastUpdateMs = nowMs
        return write(meta.transactionalId, next, then: then)
    }

    private mutating func markers(for meta: TransactionMetadata, nowMs: Int64) -> [TxnEffect] {
        let job = MarkerJob(transactionalId: meta.transactionalId, producerId: meta.producerId, producerEpoch: meta.producerEpoch,
                            commit: meta.state == .prepareCommit, coordinatorEpoch: coordinatorEpoch,
                            partitions: meta.partitions.sorted())
        // With nothing to mark, the transaction completes at once.
        if job.partitions.isEmpty { return complete(meta, job: job, nowMs: nowMs) }
        if settings.plantedBug == .completeBeforeMarkers { return [.sendMarkers(job)] + complete(meta, job: job, nowMs: nowMs) }
        return [.sendMarkers(job)]
    }

    private mutating func complete(_ meta: TransactionMetadata, job: MarkerJob, nowMs: Int64) -> [TxnEffect] {
        var next = meta
        next.state = job.commit ? .completeCommit : .completeAbort
        next.partitions = []
        next.lastUpdateMs = nowMs
        return write(meta.transactionalId, next, then: .complete(job))
    }

    private mutating func write(_ id: String, _ target: TransactionMetadata?, then: FollowUp) -> [TxnEffect] {
        let writeId = nextWriteId
        nextWriteId += 1
        pendingWrites[writeId] = PendingWrite(transactionalId: id, target: target, then: then)
        writing[id] = writeId
        var effects: [TxnEffect] = [.append(writeId: writeId, TransactionLogRecord(transactionalId: id, value: target?.value))]
        if settings.plantedBug == .markersBeforePrepareDurable, case .endTxn = then, let target {
            effects += markers(for: target, nowMs: target.lastUpdateMs)
        }
        return effects
    }
}
