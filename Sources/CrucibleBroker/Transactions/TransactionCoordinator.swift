import CrucibleGroups
import CrucibleProtocol
import CrucibleRecords
import CrucibleTransactions
import Logging
import NIOCore

/// The shell around the pure `TxnShard`s: one per `__transaction_state` partition this node leads. Requests hop
/// to `loop` and come back as futures; records are appended as leader and reported once committed; markers go
/// out through the `TxnMarkerSender`; a timer aborts transactions past their timeout.
///
/// A record once appended is reported to its shard only when committed: if the ISR shrinks under it or the
/// wait times out, the shard is loaded again from the log (which holds the record), so memory never parts from
/// the log; if leadership moves, the shard is dropped.
final class TransactionCoordinator: @unchecked Sendable {
    typealias Unavailable = ShardHost<TxnShard>.Unavailable

    let loop: EventLoop
    private let replicas: ReplicaManager
    private let config: TransactionConfig
    private let markers: TxnMarkerSender
    private let logger: Logger
    private var shards: ShardHost<TxnShard>!
    private var waiters: [TxnToken: (TxnReply) -> Void] = [:]
    private var nextToken: UInt64 = 1
    private var timers: [RepeatedTask] = []

    init(loop: EventLoop, replicas: ReplicaManager, config: TransactionConfig, markers: TxnMarkerSender, logger: Logger) {
        self.loop = loop
        self.replicas = replicas
        self.config = config
        self.markers = markers
        self.logger = logger
        let topic = TransactionStateLog.topic
        shards = ShardHost(loop: loop, topic: topic, logger: logger, load: { [config, logger] partition, epoch in
            do {
                let records = try TransactionStateLog.load(partition.log) { why in
                    logger.warning("\(topic)-\(partition.index): skipping a record: \(why)")
                }
                let shard = TxnShard.loaded(from: records, settings: config.coordinator, coordinatorEpoch: epoch)
                logger.log(level: records.isEmpty ? .debug : .info,
                           "\(topic)-\(partition.index): loaded \(shard.transactions.count) transactional ids in epoch \(epoch)")
                return shard
            } catch {
                logger.error("\(topic)-\(partition.index): cannot load transactions: \(error)")
                return nil
            }
        }, installed: { [weak self] index, _ in
            self?.withShard(index) { shard in shard.resume(nowMs: Clock.nowMs()) }
        }, dropped: { [weak self] shard, index in
            self?.deliver(shard.unload(), shard: index, epoch: -1)
            self?.logger.info("\(topic)-\(index): unloaded")
        })
    }

    func start() {
        let interval = config.abortTimedOutIntervalMs
        timers.append(loop.scheduleRepeatedTask(initialDelay: .milliseconds(interval), delay: .milliseconds(interval)) { [weak self] _ in
            guard let self else { return }
            for (effects, index, epoch) in self.shards.forEachShard({ shard, _ in shard.tick(nowMs: Clock.nowMs()) }) {
                self.deliver(effects, shard: index, epoch: epoch)
            }
        })
    }

    func stop() {
        for timer in timers { timer.cancel() }
        markers.close()
    }

    func leadershipChanged(_ partition: Partition) { shards.leadershipChanged(partition) }

    /// Runs `body` against the shard of `transactionalId` (of a topic of `partitions` partitions) with a fresh
    /// token whose reply completes the returned future.
    func submit(_ transactionalId: String, partitions: Int32, on eventLoop: EventLoop,
                _ body: @escaping (inout TxnShard, TxnToken) -> [TxnEffect]) -> EventLoopFuture<TxnReply> {
        let promise = eventLoop.makePromise(of: TxnReply.self)
        loop.execute {
            let index = TransactionStateLog.partition(for: transactionalId, partitions: partitions)
            do {
                let (effects, epoch) = try self.shards.withShard(index) { shard, epoch in
                    let token = TxnToken(self.nextToken)
                    self.nextToken += 1
                    self.waiters[token] = { promise.succeed($0) }
                    return (body(&shard, token), epoch)
                }
                self.deliver(effects, shard: index, epoch: epoch)
            } catch {
                promise.fail(error)
            }
        }
        return promise.futureResult
    }

    /// Reads the shard of `transactionalId` without changing it (KIP-890 verification).
    func query<Value: Sendable>(_ transactionalId: String, partitions: Int32, on eventLoop: EventLoop,
                                _ body: @escaping (TxnShard) -> Value) -> EventLoopFuture<Value> {
        let promise = eventLoop.makePromise(of: Value.self)
        loop.execute {
            let index = TransactionStateLog.partition(for: transactionalId, partitions: partitions)
            do {
                promise.succeed(try self.shards.withShard(index) { shard, _ in body(shard) })
            } catch {
                promise.fail(error)
            }
        }
        return promise.futureResult
    }

    /// Every loaded shard's transactions (ListTransactions), and whether any shard is still loading.
    func collect(on eventLoop: EventLoop) -> EventLoopFuture<(transactions: [TransactionMetadata], loading: Bool)> {
        loop.submit {
            let (loaded, loading) = self.shards.loadedShards()
            return (loaded.flatMap { $0.transactions.values }, loading)
        }.hop(to: eventLoop)
    }

    private func deliver(_ effects: [TxnEffect], shard index: Int32, epoch: Int32) {
        for effect in effects {
            switch effect {
            case .reply(let token, let reply):
                waiters.removeValue(forKey: token)?(reply)
            case .append(let writeId, let record):
                write(record, writeId: writeId, shard: index, epoch: epoch)
            case .sendMarkers(let job):
                markers.send(job, on: loop).whenSuccess { outcome in
                    guard outcome == .written, self.shards.isLoaded(index, epoch: epoch) else { return }
                    self.withShard(index) { shard in shard.markersWritten(job, nowMs: Clock.nowMs()) }
                }
            case .note(let text):
                logger.info("\(text)")
            }
        }
    }

    private func withShard(_ index: Int32, _ body: (inout TxnShard) -> [TxnEffect]) {
        guard let (effects, epoch) = try? shards.withShard(index, { shard, epoch in (body(&shard), epoch) }) else { return }
        deliver(effects, shard: index, epoch: epoch)
    }

    // MARK: Writing

    private func write(_ record: TransactionLogRecord, writeId: UInt64, shard index: Int32, epoch: Int32) {
        func report(_ code: ErrorCode) {
            guard shards.isLoaded(index, epoch: epoch) else { return }
            withShard(index) { shard in shard.writeCompleted(writeId, error: code, nowMs: Clock.nowMs()) }
        }
        guard let partition = replicas.partition(TransactionStateLog.topic, index), partition.isLeader,
              partition.leaderEpoch == epoch else { return report(.notLeaderOrFollower) }
        guard Int32(partition.effectiveIsr.count) >= partition.minInsyncReplicas else { return report(.notEnoughReplicas) }
        let appended: Int64
        do {
            let nowMs = Clock.nowMs()
            var batch = try TransactionStateLog.batch(record, nowMs: nowMs)
            guard let span = try RecordBatch.spans(in: batch, allowPartialTail: false).first else { return report(.unknownServerError) }
            appended = try partition.log.appendAsLeader(&batch, span: span, leaderEpoch: epoch, nowMs: nowMs).lastOffset
            replicas.appended(partition)
        } catch {
            logger.error("\(TransactionStateLog.topic)-\(index): append failed: \(error)")
            return report(.kafkaStorageError)
        }
        guard partition.highWatermark <= appended else { return report(.none) }
        replicas.producePurgatory.wait(for: partition, requiredOffset: appended + 1, timeoutMs: Int64(Int32.max), on: loop)
            .whenSuccess { code in
                switch code {
                case .none: report(.none)
                case .notLeaderOrFollower: return   // the shard is being dropped
                default:
                    // Appended but not committed: the log, not memory, now says what happened.
                    guard self.shards.isLoaded(index, epoch: epoch) else { return }
                    self.logger.warning("\(TransactionStateLog.topic)-\(index): a write is appended but not committed (\(code.name)): reloading")
                    self.shards.reload(partition, epoch: epoch)
                }
            }
    }
}
