import CrucibleController
import CrucibleProtocol
import CrucibleStorage
import Logging
import NIOConcurrencyHelpers

/// The partitions hosted on this broker, kept in step with the metadata image: logs are opened for partitions
/// assigned here and deleted with their topics.
public final class ReplicaManager: @unchecked Sendable {
    let nodeId: Int32
    let logs: LogManager
    private let config: BrokerConfig
    private let lock = NIOLock()
    private var partitions: [String: Partition] = [:]
    let fetchWaiters = FetchWaiters()
    private let logger: Logger

    init(nodeId: Int32, logs: LogManager, config: BrokerConfig, logger: Logger) {
        self.nodeId = nodeId
        self.logs = logs
        self.config = config
        self.logger = logger
    }

    static func key(_ topic: String, _ partition: Int32) -> String { "\(topic)-\(partition)" }

    public func partition(_ topic: String, _ index: Int32) -> Partition? {
        lock.withLock { partitions[Self.key(topic, index)] }
    }

    public var allPartitions: [Partition] { lock.withLock { Array(partitions.values) } }

    /// Brings hosted partitions in line with `image`: opens new ones, updates state, deletes removed topics.
    func apply(_ image: MetadataImage, nowMs: Int64) {
        var wanted = Set<String>()
        for topic in image.sortedTopics {
            let topicConfig = TopicConfig(topic.configs)
            let logConfig = topicConfig.logConfig(defaults: config)
            let minIsr = topicConfig.minInsyncReplicas(defaults: config)
            let appendTime = topicConfig.logAppendTime(defaults: config)
            for (index, state) in topic.partitions where state.replicas.contains(nodeId) {
                let key = Self.key(topic.name, index)
                wanted.insert(key)
                if let existing = partition(topic.name, index) {
                    existing.update(image: state, topicId: topic.id, minInsyncReplicas: minIsr, logAppendTime: appendTime)
                    if existing.log.currentConfig != logConfig { existing.log.update(config: logConfig) }
                    continue
                }
                do {
                    let log = try logs.openLog(topic: topic.name, partition: index, config: logConfig, nowMs: nowMs)
                    let partition = Partition(topic: topic.name, topicId: topic.id, image: state, log: log,
                                              minInsyncReplicas: minIsr, logAppendTime: appendTime)
                    lock.withLock { partitions[key] = partition }
                } catch {
                    logger.error("cannot open log \(key): \(error)")
                }
            }
        }
        let removed = lock.withLock { () -> [Partition] in
            let gone = partitions.filter { !wanted.contains($0.key) }
            for key in gone.keys { partitions.removeValue(forKey: key) }
            return Array(gone.values)
        }
        for partition in removed {
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

    func highWatermarkMoved(_ partition: Partition) {
        fetchWaiters.wake(Self.key(partition.topic, partition.index))
    }

    /// Retention and time-based flushing, run every `log.retention.check.interval.ms` / second.
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
    }
}
