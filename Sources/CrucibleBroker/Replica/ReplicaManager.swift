import CrucibleController
import CrucibleProtocol
import CrucibleStorage
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The partitions hosted on this broker, kept in step with the metadata image: logs are opened for partitions
/// assigned here and deleted with their topics; each partition leads or follows as the image says, followers
/// fetching from their leader; leaders track their followers, move the high watermark, and propose ISR
/// changes to the controller.
public final class ReplicaManager: @unchecked Sendable {
    let nodeId: Int32
    let logs: LogManager
    private let staticConfig: BrokerConfig
    /// server.properties with the dynamic log defaults the metadata holds for this broker.
    private var config: BrokerConfig { lock.withLock { effectiveConfig } }
    private var effectiveConfig: BrokerConfig
    /// The dynamic configs `effectiveConfig` was built from: most commits change none, and need no rebuild.
    private var appliedDynamic: [String: String] = [:]
    private let lock = NIOLock()
    private var partitions: [String: Partition] = [:]
    private var fetchers: [Int32: ReplicaFetcher] = [:]
    private var brokerAddresses: [Int32: (host: String, port: Int)] = [:]
    /// Where the newest image applied ends in the metadata log: an older image arriving after it would undo
    /// the role changes since.
    private var appliedMetadataOffset: Int64 = -1
    let fetchWaiters = FetchWaiters()
    let producePurgatory = ProducePurgatory()
    let leaderQuota = ReplicationQuota()
    let followerQuota = ReplicationQuota()
    private let group: EventLoopGroup
    var controllerChannel: ControllerChannel?
    /// Told of every role change of a hosted internal topic's partition (`__consumer_offsets`,
    /// `__transaction_state`): its coordinator loads or unloads the shard.
    var onInternalLeadership: ((Partition) -> Void)?
    /// Called when the controller accepts an ISR change this leader proposed: true for a shrink.
    var onIsrChange: ((_ shrunk: Bool) -> Void)?
    private let logger: Logger
    private let highWatermarks: [String: Int64]

    init(nodeId: Int32, logs: LogManager, config: BrokerConfig, group: EventLoopGroup, logger: Logger) {
        self.nodeId = nodeId
        self.logs = logs
        self.staticConfig = config
        self.effectiveConfig = config
        self.group = group
        self.logger = logger
        highWatermarks = logs.checkpointedHighWatermarks()
    }

    static func key(_ topic: String, _ partition: Int32) -> String { "\(topic)-\(partition)" }

    public func partition(_ topic: String, _ index: Int32) -> Partition? {
        lock.withLock { partitions[Self.key(topic, index)] }
    }

    public var allPartitions: [Partition] { lock.withLock { Array(partitions.values) } }

    /// Brings hosted partitions in line with `image`: opens new ones, changes roles, deletes removed topics.
    /// Only the topics `changes` names are revisited (a commit usually touches one or two of thousands).
    func apply(_ image: MetadataImage, changes: MetadataChanges = MetadataChanges(everything: true), nowMs: Int64) {
        let newest = lock.withLock { () -> Int64 in
            appliedMetadataOffset = max(appliedMetadataOffset, image.appliedOffset)
            return appliedMetadataOffset
        }
        guard image.appliedOffset == newest else {
            logger.error("ignored a metadata image at offset \(image.appliedOffset), older than the one applied (\(newest))")
            return
        }
        lock.withLock {
            brokerAddresses = image.brokers.compactMapValues { broker in
                staticConfig.interBrokerEndpoint(broker).map { ($0.host, Int($0.port)) }
            }
        }
        let dynamic = image.dynamicBrokerConfigs(for: nodeId)
        lock.withLock {
            guard dynamic != appliedDynamic else { return }
            appliedDynamic = dynamic
            effectiveConfig = staticConfig.overlaid(with: dynamic)
        }
        leaderQuota.setRate(dynamic["leader.replication.throttled.rate"].flatMap { Int64($0) } ?? .max)
        followerQuota.setRate(dynamic["follower.replication.throttled.rate"].flatMap { Int64($0) } ?? .max)
        let topics = changes.everything ? image.sortedTopics : changes.topics.sorted().compactMap { image.topic(named: $0) }
        for topic in topics {
            let topicConfig = TopicConfig(topic.configs)
            let logConfig = topicConfig.logConfig(defaults: config)
            for (index, state) in topic.partitions where state.replicas.contains(nodeId) {
                var settings = Partition.Settings(minInsyncReplicas: topicConfig.minInsyncReplicas(defaults: config),
                                                  logAppendTime: topicConfig.logAppendTime(defaults: config))
                settings.leaderThrottled = ReplicationQuota.names(topic.configs["leader.replication.throttled.replicas"],
                                                                  partition: index, broker: nodeId)
                settings.followerThrottled = ReplicationQuota.names(topic.configs["follower.replication.throttled.replicas"],
                                                                    partition: index, broker: nodeId)
                let key = Self.key(topic.name, index)
                let change: Partition.RoleChange
                let partition: Partition
                if let existing = self.partition(topic.name, index) {
                    partition = existing
                    let before = existing.image
                    change = existing.update(image: state, topicId: topic.id, settings: settings, nowMs: nowMs)
                    // The ISR of a partition this node goes on leading shrank or grew, whoever decided it (this
                    // leader's AlterPartition, or the controller dropping a fenced broker): IsrShrinks/IsrExpands.
                    if before.leader == nodeId, state.leader == nodeId, before.leaderEpoch == state.leaderEpoch,
                       state.isr.count != before.isr.count {
                        onIsrChange?(state.isr.count < before.isr.count)
                    }
                    if existing.log.currentConfig != logConfig { existing.log.update(config: logConfig) }
                } else {
                    do {
                        let log = try logs.openLog(topic: topic.name, partition: index, config: logConfig, nowMs: nowMs)
                        partition = Partition(topic: topic.name, topicId: topic.id, image: state, log: log, nodeId: nodeId,
                                              settings: settings, recoveredHighWatermark: highWatermarks[key], nowMs: nowMs)
                    } catch {
                        logger.error("cannot open log \(key): \(error)")
                        continue
                    }
                    lock.withLock { partitions[key] = partition }
                    change = state.leader == nodeId ? .becameLeader
                        : state.leader >= 0 ? .becameFollower(leader: state.leader) : .leaderless
                }
                applyRole(change, partition, metadataOffset: image.appliedOffset)
                highWatermarkMoved(partition)
            }
        }
        removePartitions { partition in
            guard changes.touches(topic: partition.topic) else { return false }
            return image.topic(named: partition.topic)?.partitions[partition.index]?.replicas.contains(nodeId) != true
        }
    }

    private func applyRole(_ change: Partition.RoleChange, _ partition: Partition, metadataOffset: Int64) {
        if change != .none, InternalTopicLog.isInternal(partition.topic) { onInternalLeadership?(partition) }
        let name = "\(partition.topic)-\(partition.index)"
        switch change {
        case .none:
            return
        case .becameLeader, .leaderless:
            stopFollowing(partition)
            if change == .becameLeader {
                logger.info("\(name): leader in epoch \(partition.leaderEpoch) (metadata offset \(metadataOffset))")
                if partition.appendedAsLeader() { highWatermarkMoved(partition) }
            } else {
                logger.info("\(name): no leader in epoch \(partition.leaderEpoch) (metadata offset \(metadataOffset))")
            }
        case .becameFollower(let leader):
            stopFollowing(partition)
            logger.info("\(name): following \(leader) in epoch \(partition.leaderEpoch) (metadata offset \(metadataOffset))")
            fetcher(for: leader).add(partition)
        }
        fetchWaiters.wake(Self.key(partition.topic, partition.index))
    }

    private func fetcher(for leader: Int32) -> ReplicaFetcher {
        lock.withLock {
            if let existing = fetchers[leader] { return existing }
            let fetcher = ReplicaFetcher(
                leaderId: leader, nodeId: nodeId,
                address: { [weak self] in self?.lock.withLock { self?.brokerAddresses[leader] } ?? nil },
                group: group, logger: logger, quota: followerQuota,
                limits: .init(partitionMaxBytes: effectiveConfig.replicaFetchMaxBytes,
                              responseMaxBytes: effectiveConfig.replicaFetchResponseMaxBytes,
                              maxWaitMs: effectiveConfig.replicaFetchWaitMaxMs),
                security: staticConfig.security.interBrokerClient,
                onProgress: { [weak self] partition in self?.fetchWaiters.wake(Self.key(partition.topic, partition.index)) })
            fetchers[leader] = fetcher
            return fetcher
        }
    }

    private func stopFollowing(_ partition: Partition) {
        let all = lock.withLock { Array(fetchers.values) }
        for fetcher in all { fetcher.remove(partition) }
    }

    private func removePartitions(where unwanted: (Partition) -> Bool) {
        let removed = lock.withLock { () -> [Partition] in
            let gone = partitions.filter { unwanted($0.value) }
            for key in gone.keys { partitions.removeValue(forKey: key) }
            return Array(gone.values)
        }
        for partition in removed {
            stopFollowing(partition)
            if InternalTopicLog.isInternal(partition.topic) { onInternalLeadership?(partition) }
            do {
                try logs.deleteLog(topic: partition.topic, partition: partition.index)
                logger.info("deleted log \(partition.topic)-\(partition.index)")
            } catch {
                logger.error("cannot delete log \(partition.topic)-\(partition.index): \(error)")
            }
        }
    }

    /// Deletes logs on disk that the metadata no longer knows (a topic deleted while this node was down).
    func removeOrphanLogs(_ image: MetadataImage) {
        guard let onDisk = try? logs.partitionsOnDisk() else { return }
        for (topic, index) in onDisk where image.topic(named: topic)?.partitions[index] == nil {
            try? logs.deleteLog(topic: topic, partition: index)
        }
    }

    // MARK: Leader duties

    /// Anything appended: followers and consumers long-polling on the partition re-check.
    func appended(_ partition: Partition) {
        if partition.appendedAsLeader() { highWatermarkMoved(partition) }
        fetchWaiters.wake(Self.key(partition.topic, partition.index))
    }

    func highWatermarkMoved(_ partition: Partition) {
        producePurgatory.check(partition)
        fetchWaiters.wake(Self.key(partition.topic, partition.index))
    }

    /// A follower's fetch told us its log end.
    func followerFetched(_ partition: Partition, replica: Int32, offset: Int64) {
        let (moved, join) = partition.followerFetched(replica, offset: offset, nowMs: Clock.nowMs())
        if moved { highWatermarkMoved(partition) }
        if join { proposeIsr(partition, Array(Set(partition.image.isr).union([replica])).sorted()) }
    }

    /// Every `replica.lag.time.max.ms / 2`: followers that fell behind leave the ISR.
    func shrinkLaggingIsrs(nowMs: Int64) {
        for partition in allPartitions where partition.isLeader {
            if let isr = partition.laggingIsr(nowMs: nowMs, lagMaxMs: config.replicaLagTimeMaxMs) {
                logger.info("\(partition.topic)-\(partition.index): shrinking ISR \(partition.image.isr) to \(isr)")
                proposeIsr(partition, isr)
            }
        }
    }

    private func proposeIsr(_ partition: Partition, _ isr: [Int32]) {
        guard let channel = controllerChannel, let (leaderEpoch, partitionEpoch) = partition.proposeIsr(isr) else { return }
        channel.alterPartition(topicId: partition.id, partition: partition.index, leaderId: nodeId,
                               leaderEpoch: leaderEpoch, partitionEpoch: partitionEpoch, isr: isr)
            .whenComplete { [logger] result in
                switch result {
                case .success(.none):
                    break  // the change arrives with the metadata
                case .success(let code):
                    logger.info("\(partition.topic)-\(partition.index): ISR change to \(isr) refused: \(code.name)")
                    partition.isrProposalFailed()
                case .failure(let error):
                    logger.info("\(partition.topic)-\(partition.index): ISR change to \(isr) failed: \(error)")
                    partition.isrProposalFailed()
                }
            }
    }

    // MARK: Housekeeping

    /// Retention, run every `log.retention.check.interval.ms`.
    func runRetention(nowMs: Int64) {
        for partition in allPartitions {
            do {
                try partition.log.deleteRetainedSegments(nowMs: nowMs, maxOffset: partition.highWatermark)
            } catch {
                logger.error("retention failed for \(partition.log.name): \(error)")
            }
        }
    }

    func flushDue(nowMs: Int64) {
        for partition in allPartitions { try? partition.log.flushIfDue(nowMs: nowMs) }
        try? logs.checkpointRecoveryPoints()
        try? logs.checkpointLogStartOffsets()
        checkpointHighWatermarks()
    }

    func checkpointHighWatermarks() {
        let points = Dictionary(allPartitions.map { (Self.key($0.topic, $0.index), $0.highWatermark) },
                                uniquingKeysWith: { a, _ in a })
        try? logs.checkpointHighWatermarks(points)
    }

    func shutdown() {
        let all = lock.withLock { Array(fetchers.values) }
        for fetcher in all { fetcher.stop() }
        checkpointHighWatermarks()
    }
}
