import CrucibleGroups
import CrucibleProtocol
import CrucibleRecords
import CrucibleStorage
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The shell around the pure `GroupShard`s: one per `__consumer_offsets` partition this node leads, loaded from
/// its log when leadership arrives and dropped when it leaves. Every shard is touched only on `loop`, so the
/// state machines need no locks; requests hop there and come back as futures. Records the shards ask for are
/// appended as leader and acknowledged once the high watermark covers them (acks=all).
final class GroupCoordinator: @unchecked Sendable {
    typealias Unavailable = ShardHost<GroupShard>.Unavailable

    let loop: EventLoop
    private let replicas: ReplicaManager
    private let config: GroupConfig
    private let logger: Logger
    private var shards: ShardHost<GroupShard>!
    private var waiters: [RequestToken: (GroupReply) -> Void] = [:]
    private var nextToken: RequestToken = 1
    private var timers: [RepeatedTask] = []
    /// The groups in numbers, for `/metrics`.
    let statistics = NIOLockedValueBox(GroupStatistics())

    init(loop: EventLoop, replicas: ReplicaManager, config: GroupConfig, logger: Logger) {
        self.loop = loop
        self.replicas = replicas
        self.config = config
        self.logger = logger
        shards = ShardHost(loop: loop, topic: OffsetsTopicLog.topic, logger: logger, load: { [config, logger] partition, epoch in
            let started = Clock.nowMs()
            do {
                let records = try OffsetsTopicLog.load(partition.log) { why in
                    logger.warning("\(OffsetsTopicLog.topic)-\(partition.index): skipping a record: \(why)")
                }
                let shard = GroupShard.loaded(from: records, settings: config.coordinator, nowMs: Clock.nowMs(),
                                              makeId: { prefix in "\(prefix)-\(UUID().uuidString.lowercased())" })
                logger.log(level: records.isEmpty ? .debug : .info, "\(OffsetsTopicLog.topic)-\(partition.index): loaded \(shard.groups.count) groups from \(records.count) records in epoch \(epoch) (\(Clock.nowMs() - started) ms)")
                return shard
            } catch {
                logger.error("\(OffsetsTopicLog.topic)-\(partition.index): cannot load groups: \(error)")
                return nil
            }
        }, installed: { _, _ in }, dropped: { [weak self] shard, index in
            self?.deliver(shard.unload())
            self?.logger.info("\(OffsetsTopicLog.topic)-\(index): unloaded \(shard.groups.count) groups")
        })
    }

    func start() {
        timers.append(loop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { [weak self] _ in
            self?.forEachShard { shard, _ in shard.tick(nowMs: Clock.nowMs()) }
        })
        let interval = Self.statisticsIntervalMs
        timers.append(loop.scheduleRepeatedTask(initialDelay: .milliseconds(interval), delay: .milliseconds(interval)) { [weak self] _ in
            guard let self else { return }
            let taken = GroupStatistics(self.shards.loadedShards().shards)
            self.statistics.withLockedValue { $0 = taken }
        })
        let expiry = config.offsetsRetentionCheckIntervalMs
        timers.append(loop.scheduleRepeatedTask(initialDelay: .milliseconds(expiry), delay: .milliseconds(expiry)) { [weak self] _ in
            self?.forEachShard { shard, _ in shard.expireOffsets(nowMs: Clock.nowMs()) }
        })
    }

    func stop() {
        for timer in timers { timer.cancel() }
    }

    /// A transaction marker is durable on `__consumer_offsets` partition `index`: the producer's pending offsets
    /// there count (COMMIT) or go (ABORT).
    func completeTransaction(partition index: Int32, producerId: Int64, commit: Bool) {
        loop.execute {
            try? self.withShard(index) { shard in
                shard.completeTransaction(producerId: producerId, commit: commit)
                return []
            }
        }
    }

    /// Called on every role change of a `__consumer_offsets` partition hosted here.
    func leadershipChanged(_ partition: Partition) { shards.leadershipChanged(partition) }

    // MARK: Running requests against a shard

    /// Runs `body` against the shard of `groupId` on the coordinator's loop with a fresh token whose reply
    /// completes the returned future.
    func submit<Response>(_ groupId: String, partitions: Int32, on eventLoop: EventLoop,
                          extract: @escaping (GroupReply) -> Response?,
                          _ body: @escaping (inout GroupShard, RequestToken) -> [GroupEffect]) -> EventLoopFuture<Response> {
        let promise = eventLoop.makePromise(of: Response.self)
        loop.execute {
            let index = OffsetsTopicLog.partition(for: groupId, partitions: partitions)
            do {
                try self.withShard(index) { shard in
                    let token = self.nextToken
                    self.nextToken += 1
                    self.waiters[token] = { reply in
                        if let response = extract(reply) { promise.succeed(response) }
                        else { promise.fail(Unavailable.notCoordinator) }
                    }
                    return body(&shard, token)
                }
            } catch {
                promise.fail(error)
            }
        }
        return promise.futureResult
    }

    /// Reads (or changes without waiting) the shard of `groupId`.
    func read<Value>(_ groupId: String, partitions: Int32, on eventLoop: EventLoop,
                     _ body: @escaping (inout GroupShard) -> (Value, [GroupEffect])) -> EventLoopFuture<Value> {
        let promise = eventLoop.makePromise(of: Value.self)
        loop.execute {
            var value: Value?
            do {
                try self.withShard(OffsetsTopicLog.partition(for: groupId, partitions: partitions)) { shard in
                    let (result, effects) = body(&shard)
                    value = result
                    return effects
                }
                promise.succeed(value!)
            } catch {
                promise.fail(error)
            }
        }
        return promise.futureResult
    }

    /// Every loaded shard's answer (ListGroups).
    func collect<Value: Sendable>(on eventLoop: EventLoop, _ body: @escaping (GroupShard) -> [Value]) -> EventLoopFuture<(values: [Value], loading: Bool)> {
        loop.submit {
            let (loaded, loading) = self.shards.loadedShards()
            return (loaded.flatMap(body), loading)
        }.hop(to: eventLoop)
    }

    private func withShard(_ index: Int32, _ body: (inout GroupShard) -> [GroupEffect]) throws {
        let (effects, epoch) = try shards.withShard(index) { shard, epoch in (body(&shard), epoch) }
        deliver(effects, shard: index, epoch: epoch)
    }

    private func forEachShard(_ body: (inout GroupShard, Int32) -> [GroupEffect]) {
        for (effects, index, epoch) in shards.forEachShard(body) { deliver(effects, shard: index, epoch: epoch) }
    }

    private func deliver(_ effects: [GroupEffect], shard index: Int32 = -1, epoch: Int32 = -1) {
        for effect in effects {
            switch effect {
            case .reply(let token, let reply):
                waiters.removeValue(forKey: token)?(reply)
            case .append(let writeId, let records):
                write(records, writeId: writeId, shard: index, epoch: epoch)
            case .appendTransactional(let writeId, let producerId, let producerEpoch, let records):
                write(records, writeId: writeId, shard: index, epoch: epoch, transaction: (producerId, producerEpoch))
            case .note(let text):
                logger.info("\(text)")
            }
        }
    }

    // MARK: Writing

    /// Appends as leader of the shard's partition in `epoch`, then reports the outcome to the shard once the
    /// high watermark covers the batch (or it cannot).
    private func write(_ records: [OffsetsTopicRecord], writeId: UInt64, shard index: Int32, epoch: Int32,
                       transaction: (producerId: Int64, epoch: Int16)? = nil) {
        let outcome: EventLoopFuture<ErrorCode>
        if let partition = replicas.partition(OffsetsTopicLog.topic, index), partition.isLeader, partition.leaderEpoch == epoch {
            outcome = append(records, to: partition, epoch: epoch, transaction: transaction)
        } else {
            outcome = loop.makeSucceededFuture(.notLeaderOrFollower)
        }
        outcome.hop(to: loop).whenComplete { result in
            let code: ErrorCode
            switch result {
            case .success(let value): code = value
            case .failure: code = .unknownServerError
            }
            guard self.shards.isLoaded(index, epoch: epoch) else { return }
            try? self.withShard(index) { shard in shard.writeCompleted(writeId, error: code, nowMs: Clock.nowMs()) }
        }
    }

    private func append(_ records: [OffsetsTopicRecord], to partition: Partition, epoch: Int32,
                        transaction: (producerId: Int64, epoch: Int16)?) -> EventLoopFuture<ErrorCode> {
        guard Int32(partition.effectiveIsr.count) >= partition.minInsyncReplicas else {
            return loop.makeSucceededFuture(.notEnoughReplicas)
        }
        do {
            let nowMs = Clock.nowMs()
            var batch = try OffsetsTopicLog.batch(records, nowMs: nowMs, transaction: transaction)
            guard let span = try RecordBatch.spans(in: batch, allowPartialTail: false).first else {
                return loop.makeSucceededFuture(.unknownServerError)
            }
            guard span.size <= partition.log.currentConfig.maxMessageBytes else {
                return loop.makeSucceededFuture(.recordListTooLarge)
            }
            let appended = try partition.log.appendAsLeader(&batch, span: span, leaderEpoch: epoch,
                                                            origin: transaction == nil ? .client : .coordinator, nowMs: nowMs)
            replicas.appended(partition)
            guard partition.highWatermark <= appended.lastOffset else { return loop.makeSucceededFuture(.none) }
            return replicas.producePurgatory.wait(for: partition, requiredOffset: appended.lastOffset + 1,
                                                  timeoutMs: config.offsetsCommitTimeoutMs, on: loop)
        } catch {
            if case AppendError.invalidProducerEpoch = error { return loop.makeSucceededFuture(.invalidProducerEpoch) }
            logger.error("\(OffsetsTopicLog.topic)-\(partition.index): append failed: \(error)")
            return loop.makeSucceededFuture(.kafkaStorageError)
        }
    }
}
