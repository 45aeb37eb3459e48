import CrucibleGroups
import CrucibleProtocol
import CrucibleRecords
import Foundation
import Logging
import NIOCore

/// The shell around the pure `GroupShard`s: one per `__consumer_offsets` partition this node leads, loaded from
/// its log when leadership arrives and dropped when it leaves. Every shard is touched only on `loop`, so the
/// state machines need no locks; requests hop there and come back as futures. Records the shards ask for are
/// appended as leader and acknowledged once the high watermark covers them (acks=all).
final class GroupCoordinator: @unchecked Sendable {
    enum Slot {
        case loading(epoch: Int32)
        case loaded(GroupShard, epoch: Int32)
    }

    /// Why a request cannot be served here.
    enum Unavailable: Error { case notCoordinator, loading }

    let loop: EventLoop
    private let replicas: ReplicaManager
    private let config: GroupConfig
    private let logger: Logger
    private var slots: [Int32: Slot] = [:]
    private var waiters: [RequestToken: (GroupReply) -> Void] = [:]
    private var nextToken: RequestToken = 1
    private var timers: [RepeatedTask] = []

    init(loop: EventLoop, replicas: ReplicaManager, config: GroupConfig, logger: Logger) {
        self.loop = loop
        self.replicas = replicas
        self.config = config
        self.logger = logger
    }

    func start() {
        timers.append(loop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { [weak self] _ in
            self?.forEachShard { shard, _ in shard.tick(nowMs: Clock.nowMs()) }
        })
        let expiry = config.offsetsRetentionCheckIntervalMs
        timers.append(loop.scheduleRepeatedTask(initialDelay: .milliseconds(expiry), delay: .milliseconds(expiry)) { [weak self] _ in
            self?.forEachShard { shard, _ in shard.expireOffsets(nowMs: Clock.nowMs()) }
        })
    }

    func stop() {
        for timer in timers { timer.cancel() }
    }

    // MARK: Leadership of __consumer_offsets partitions

    /// Called on every role change of a `__consumer_offsets` partition hosted here.
    func leadershipChanged(_ partition: Partition) {
        let leading = partition.isLeader, epoch = partition.leaderEpoch
        loop.execute {
            switch (self.slots[partition.index], leading) {
            case (.loaded(_, let current)?, true) where current == epoch, (.loading(let current)?, true) where current == epoch:
                return
            case (_, true):
                self.unload(partition.index)
                self.slots[partition.index] = .loading(epoch: epoch)
                self.load(partition, epoch: epoch)
            case (_, false):
                self.unload(partition.index)
            }
        }
    }

    /// Reads the partition off the loop (requests meanwhile get COORDINATOR_LOAD_IN_PROGRESS), then installs the
    /// shard if the partition is still ours in the same epoch.
    private func load(_ partition: Partition, epoch: Int32) {
        let started = Clock.nowMs()
        DispatchQueue.global().async {
            let records: [OffsetsTopicRecord]?
            do {
                records = try OffsetsTopicLog.load(partition.log) { why in
                    self.logger.warning("\(OffsetsTopicLog.topic)-\(partition.index): skipping a record: \(why)")
                }
            } catch {
                self.logger.error("\(OffsetsTopicLog.topic)-\(partition.index): cannot load groups: \(error)")
                records = nil
            }
            self.loop.execute { self.install(records, partition: partition, epoch: epoch, started: started) }
        }
    }

    private func install(_ records: [OffsetsTopicRecord]?, partition: Partition, epoch: Int32, started: Int64) {
        guard case .loading(let current)? = slots[partition.index], current == epoch else { return }
        guard let records else {
            slots.removeValue(forKey: partition.index)
            return
        }
        let shard = GroupShard.loaded(from: records, settings: config.coordinator, nowMs: Clock.nowMs(),
                                      makeId: { prefix in "\(prefix)-\(UUID().uuidString.lowercased())" })
        slots[partition.index] = .loaded(shard, epoch: epoch)
        logger.log(level: records.isEmpty ? .debug : .info, "\(OffsetsTopicLog.topic)-\(partition.index): loaded \(shard.groups.count) groups from \(records.count) records in epoch \(epoch) (\(Clock.nowMs() - started) ms)")
    }

    private func unload(_ index: Int32) {
        guard let slot = slots.removeValue(forKey: index) else { return }
        if case .loaded(var shard, _) = slot {
            deliver(shard.unload())
            logger.info("\(OffsetsTopicLog.topic)-\(index): unloaded \(shard.groups.count) groups")
        }
    }

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
            var values: [Value] = []
            var loading = false
            for (_, slot) in self.slots.sorted(by: { $0.key < $1.key }) {
                switch slot {
                case .loaded(let shard, _): values += body(shard)
                case .loading: loading = true
                }
            }
            return (values, loading)
        }.hop(to: eventLoop)
    }

    private func withShard(_ index: Int32, _ body: (inout GroupShard) -> [GroupEffect]) throws {
        switch slots[index] {
        case nil: throw Unavailable.notCoordinator
        case .loading?: throw Unavailable.loading
        case .loaded(var shard, let epoch)?:
            // Out of the table while it changes, so the change does not copy every group (copy-on-write).
            slots[index] = .loading(epoch: epoch)
            let effects = body(&shard)
            slots[index] = .loaded(shard, epoch: epoch)
            deliver(effects, shard: index, epoch: epoch)
        }
    }

    private func forEachShard(_ body: (inout GroupShard, Int32) -> [GroupEffect]) {
        for index in slots.keys.sorted() {
            try? withShard(index) { shard in body(&shard, index) }
        }
    }

    private func deliver(_ effects: [GroupEffect], shard index: Int32 = -1, epoch: Int32 = -1) {
        for effect in effects {
            switch effect {
            case .reply(let token, let reply):
                waiters.removeValue(forKey: token)?(reply)
            case .append(let writeId, let records):
                write(records, writeId: writeId, shard: index, epoch: epoch)
            case .note(let text):
                logger.info("\(text)")
            }
        }
    }

    // MARK: Writing

    /// Appends as leader of the shard's partition in `epoch`, then reports the outcome to the shard once the
    /// high watermark covers the batch (or it cannot).
    private func write(_ records: [OffsetsTopicRecord], writeId: UInt64, shard index: Int32, epoch: Int32) {
        let outcome: EventLoopFuture<ErrorCode>
        if let partition = replicas.partition(OffsetsTopicLog.topic, index), partition.isLeader, partition.leaderEpoch == epoch {
            outcome = append(records, to: partition, epoch: epoch)
        } else {
            outcome = loop.makeSucceededFuture(.notLeaderOrFollower)
        }
        outcome.hop(to: loop).whenComplete { result in
            let code: ErrorCode
            switch result {
            case .success(let value): code = value
            case .failure: code = .unknownServerError
            }
            guard case .loaded(_, let current)? = self.slots[index], current == epoch else { return }
            try? self.withShard(index) { shard in shard.writeCompleted(writeId, error: code, nowMs: Clock.nowMs()) }
        }
    }

    private func append(_ records: [OffsetsTopicRecord], to partition: Partition, epoch: Int32) -> EventLoopFuture<ErrorCode> {
        guard Int32(partition.effectiveIsr.count) >= partition.minInsyncReplicas else {
            return loop.makeSucceededFuture(.notEnoughReplicas)
        }
        do {
            let nowMs = Clock.nowMs()
            var batch = try OffsetsTopicLog.batch(records, nowMs: nowMs)
            guard let span = try RecordBatch.spans(in: batch, allowPartialTail: false).first else {
                return loop.makeSucceededFuture(.unknownServerError)
            }
            guard span.size <= partition.log.currentConfig.maxMessageBytes else {
                return loop.makeSucceededFuture(.recordListTooLarge)
            }
            let appended = try partition.log.appendAsLeader(&batch, span: span, leaderEpoch: epoch, nowMs: nowMs)
            replicas.appended(partition)
            guard partition.highWatermark <= appended.lastOffset else { return loop.makeSucceededFuture(.none) }
            return replicas.producePurgatory.wait(for: partition, requiredOffset: appended.lastOffset + 1,
                                                  timeoutMs: config.offsetsCommitTimeoutMs, on: loop)
        } catch {
            logger.error("\(OffsetsTopicLog.topic)-\(partition.index): append failed: \(error)")
            return loop.makeSucceededFuture(.kafkaStorageError)
        }
    }
}
