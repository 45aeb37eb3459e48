import CRdKafka
import CrucibleWorkload

/// A step of a transaction as it went: a send with the offset its delivery report gave, or what a poll read.
enum CompletedStep {
    case send(key: Int, value: Int, offset: Int64)
    case poll([Int: [(offset: Int64, value: Int)]])
}

/// What a transaction came to, by Jepsen's rule: `committed` only when the commit returned; `aborted` when it
/// certainly did not commit (an abort succeeded, or the commit was never asked for); `unknown` otherwise. The
/// client must be replaced after `unknown`, and after `aborted` when `replace` says so (its producer is fenced
/// or in a fatal state).
enum TxnOutcome {
    case committed([CompletedStep])
    case aborted(String, replace: Bool)
    case unknown(String)
}

extension QueueClient {
    static let transactionCallMs: Int32 = 10_000

    /// Runs `steps` in one transaction, sends waiting for their delivery reports, offsets sent to the transaction
    /// when the consumer is in a group; commits, or aborts when `abort` or when a step fails.
    func transact(_ steps: [TxnStep], abort: Bool) -> TxnOutcome {
        if let failure = rd_kafka_begin_transaction(producer) {
            return .aborted("begin: \(Self.describe(consume: failure))", replace: true)  // nothing was sent
        }
        var completed: [CompletedStep] = []
        for step in steps {
            switch step {
            case .poll:
                completed.append(.poll(poll(waitMs: 100)))
            case let .send(key, value):
                switch send(key: key, value: value) {
                case .ok(let offset): completed.append(.send(key: key, value: value, offset: offset))
                case .fail(let why), .info(let why): return abortTransaction(because: "send: \(why)")
                }
            }
        }
        if subscribed, let failure = sendOffsets() {
            if rd_kafka_error_txn_requires_abort(failure) != 0 {
                return abortTransaction(because: "send offsets: \(Self.describe(consume: failure))")
            }
            // Never committed: the coordinator aborts it when it times out, or the next process's init does.
            return .aborted("send offsets: \(Self.describe(consume: failure))", replace: true)
        }
        if abort { return abortTransaction(because: "planned") }
        return commit(completed)
    }

    /// Commits, retrying what librdkafka says is retriable for up to three attempts.
    private func commit(_ completed: [CompletedStep]) -> TxnOutcome {
        for _ in 0..<3 {
            guard let failure = rd_kafka_commit_transaction(producer, Self.transactionCallMs) else { return .committed(completed) }
            if rd_kafka_error_txn_requires_abort(failure) != 0 {
                return abortTransaction(because: "commit: \(Self.describe(consume: failure))")
            }
            let retriable = rd_kafka_error_is_retriable(failure) != 0
            let why = Self.describe(consume: failure)
            if !retriable { return .unknown("commit: \(why)") }
        }
        return .unknown("commit: still retriable after three attempts")
    }

    /// Aborts the open transaction: `aborted` when the abort took (so nothing of it was committed).
    private func abortTransaction(because why: String) -> TxnOutcome {
        guard let failure = rd_kafka_abort_transaction(producer, Self.transactionCallMs) else {
            return .aborted(why, replace: false)
        }
        // The commit was never asked for, so the transaction cannot have committed; the producer is unusable.
        return .aborted("\(why); abort: \(Self.describe(consume: failure))", replace: true)
    }

    /// The consumer's positions, sent to the transaction with its group's metadata.
    private func sendOffsets() -> OpaquePointer? {
        var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(consumer, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR, let positions = assignment else { return nil }
        defer { rd_kafka_topic_partition_list_destroy(positions) }
        guard positions.pointee.cnt > 0 else { return nil }
        _ = rd_kafka_position(consumer, positions)
        let metadata = rd_kafka_consumer_group_metadata(consumer)
        defer { rd_kafka_consumer_group_metadata_destroy(metadata) }
        return rd_kafka_send_offsets_to_transaction(producer, positions, metadata, Self.transactionCallMs)
    }

    /// An error's name and text, the error destroyed.
    private static func describe(consume error: OpaquePointer) -> String {
        defer { rd_kafka_error_destroy(error) }
        let fatal = rd_kafka_error_is_fatal(error) != 0 ? " (fatal)" : ""
        return "\(String(cString: rd_kafka_error_name(error))): \(String(cString: rd_kafka_error_string(error)))\(fatal)"
    }
}
