import CrucibleProtocol
import NIOConcurrencyHelpers
import NIOCore

/// acks=all produces waiting for the high watermark to cover their batch (Kafka's produce purgatory). Each
/// waits until its partition's high watermark reaches `requiredOffset`, the request's timeout passes
/// (REQUEST_TIMED_OUT), the leader loses leadership (NOT_LEADER_OR_FOLLOWER), or the ISR falls below
/// `min.insync.replicas` (NOT_ENOUGH_REPLICAS_AFTER_APPEND).
final class ProducePurgatory: @unchecked Sendable {
    private struct Waiter {
        let requiredOffset: Int64
        let promise: EventLoopPromise<ErrorCode>
        let timeout: Scheduled<Void>
    }

    private let lock = NIOLock()
    private var nextId = 0
    private var waiting: [String: [Int: Waiter]] = [:]

    /// Waits for `partition`'s high watermark to reach `requiredOffset`.
    func wait(for partition: Partition, requiredOffset: Int64, timeoutMs: Int64,
              on eventLoop: EventLoop) -> EventLoopFuture<ErrorCode> {
        let key = ReplicaManager.key(partition.topic, partition.index)
        let promise = eventLoop.makePromise(of: ErrorCode.self)
        let id = lock.withLock { () -> Int in nextId += 1; return nextId }
        let timeout = eventLoop.scheduleTask(in: .milliseconds(max(0, timeoutMs))) {
            self.finish(key, id, .requestTimedOut)
        }
        lock.withLock { waiting[key, default: [:]][id] = Waiter(requiredOffset: requiredOffset, promise: promise,
                                                                 timeout: timeout) }
        // The high watermark may have moved between the append and the registration.
        check(partition)
        return promise.futureResult
    }

    /// Completes what the partition's state now decides: reached, not leader any more, or too few in sync.
    /// Produce requests waiting for their acks=all replication (Kafka's Produce purgatory size).
    var size: Int { lock.withLock { waiting.values.reduce(0) { $0 + $1.count } } }

    func check(_ partition: Partition) {
        let key = ReplicaManager.key(partition.topic, partition.index)
        let highWatermark = partition.highWatermark
        let leader = partition.isLeader
        let tooFew = Int32(partition.effectiveIsr.count) < partition.minInsyncReplicas
        let decided: [(Int, ErrorCode)] = lock.withLock {
            (waiting[key] ?? [:]).compactMap { id, waiter in
                if !leader { return (id, .notLeaderOrFollower) }
                if highWatermark >= waiter.requiredOffset { return (id, .none) }
                if tooFew { return (id, .notEnoughReplicasAfterAppend) }
                return nil
            }
        }
        for (id, code) in decided { finish(key, id, code) }
    }

    private func finish(_ key: String, _ id: Int, _ code: ErrorCode) {
        let waiter: Waiter? = lock.withLock {
            let found = waiting[key]?.removeValue(forKey: id)
            if waiting[key]?.isEmpty == true { waiting.removeValue(forKey: key) }
            return found
        }
        guard let waiter else { return }
        waiter.timeout.cancel()
        waiter.promise.succeed(code)
    }
}
