import CrucibleProtocol
import Logging
import NIOConcurrencyHelpers

/// Decides metadata changes and makes them durable in the metadata log before anyone sees them. Every command
/// turns a request into records against the current image, appends them, then applies them; listeners get the
/// new image. This is the single-node controller: the quorum version replaces `append` with Raft commit.
public final class QuorumController: @unchecked Sendable {
    private let lock = NIOLock()
    private let log: MetadataLog
    private var image = MetadataImage()
    private let policy: ControllerPolicy
    private let logger: Logger
    private var listeners: [@Sendable (MetadataImage) -> Void] = []
    private let epoch: Int32 = 1
    public static let producerIdBlockSize: Int64 = 1000

    public init(log: MetadataLog, policy: ControllerPolicy, logger: Logger = Logger(label: "crucible.controller")) throws {
        self.log = log
        self.policy = policy
        self.logger = logger
        for (offset, frame) in try log.replay() { image.apply(frame.record, offset: offset) }
    }

    public var currentImage: MetadataImage { lock.withLock { image } }

    public func onChange(_ listener: @escaping @Sendable (MetadataImage) -> Void) {
        lock.withLock { listeners.append(listener) }
    }

    /// Appends, applies and publishes. Called with the lock held.
    private func commitLocked(_ records: [any KafkaMetadataRecord], nowMs: Int64) throws {
        guard !records.isEmpty else { return }
        let frames = records.map { MetadataRecordFrame(record: $0, version: type(of: $0).validVersions.upperBound) }
        let first = try log.append(frames, epoch: epoch, nowMs: nowMs)
        for (i, record) in records.enumerated() { image.apply(record, offset: first + Int64(i)) }
        let snapshot = image
        for listener in listeners { listener(snapshot) }
    }

    // MARK: Brokers

    public func registerBroker(id: Int32, endpoints: [BrokerEndpointImage], nowMs: Int64) throws {
        try lock.withLock {
            var record = RegisterBrokerRecord()
            record.brokerId = id
            record.brokerEpoch = log.endOffset
            record.incarnationId = .random()
            record.fenced = false
            record.endPoints = endpoints.map {
                var endpoint = RegisterBrokerRecord.BrokerEndpoint()
                endpoint.name = $0.name
                endpoint.host = $0.host
                endpoint.port = UInt16($0.port)
                return endpoint
            }
            try commitLocked([record], nowMs: nowMs)
        }
    }

    // MARK: Topics

    public func createTopics(_ requests: [TopicCreation], validateOnly: Bool, nowMs: Int64) throws -> [TopicCreationResult] {
        try lock.withLock {
            var records: [any KafkaMetadataRecord] = []
            var results: [TopicCreationResult] = []
            var claimed = Set<String>()
            for request in requests {
                var result = TopicCreationResult(name: request.name, error: .none, message: nil, topicId: .zero,
                                                 partitions: request.partitions, replicationFactor: request.replicationFactor)
                if let problem = self.problem(with: request, claimed: claimed) {
                    (result.error, result.message) = problem
                    results.append(result)
                    continue
                }
                claimed.insert(request.name)
                let partitions = request.partitions == -1 ? policy.defaultPartitions : request.partitions
                let replicationFactor = request.replicationFactor == -1 ? policy.defaultReplicationFactor
                    : request.replicationFactor
                let topicId = KafkaUUID.random()
                result.topicId = topicId
                result.partitions = partitions
                result.replicationFactor = replicationFactor
                results.append(result)
                if validateOnly { continue }
                records += topicRecords(name: request.name, id: topicId, partitions: partitions,
                                        replicationFactor: replicationFactor, configs: request.configs)
            }
            try commitLocked(records, nowMs: nowMs)
            return results
        }
    }

    private func problem(with request: TopicCreation, claimed: Set<String>) -> (ErrorCode, String)? {
        if let problem = TopicRules.problem(withName: request.name) { return (.invalidTopicException, problem) }
        if image.topic(named: request.name) != nil || claimed.contains(request.name) {
            return (.topicAlreadyExists, "Topic '\(request.name)' already exists.")
        }
        let partitions = request.partitions == -1 ? policy.defaultPartitions : request.partitions
        guard partitions > 0 && partitions <= TopicRules.maxPartitionsPerTopic else {
            return (.invalidPartitions, "Number of partitions must be between 1 and \(TopicRules.maxPartitionsPerTopic).")
        }
        let replicationFactor = request.replicationFactor == -1 ? policy.defaultReplicationFactor
            : request.replicationFactor
        let live = image.brokers.values.filter { !$0.fenced }.count
        guard replicationFactor > 0 && Int(replicationFactor) <= live else {
            return (.invalidReplicationFactor,
                    "Replication factor: \(replicationFactor) larger than available brokers: \(live).")
        }
        for (key, value) in request.configs {
            do { try policy.validateTopicConfig(key, value) } catch { return (.invalidConfig, "\(error)") }
        }
        return nil
    }

    private func topicRecords(name: String, id: KafkaUUID, partitions: Int32, replicationFactor: Int16,
                              configs: [String: String]) -> [any KafkaMetadataRecord] {
        var topic = TopicRecord()
        topic.name = name
        topic.topicId = id
        var records: [any KafkaMetadataRecord] = [topic]
        for (key, value) in configs.sorted(by: { $0.key < $1.key }) {
            records.append(configRecord(topic: name, key: key, value: value))
        }
        let live = image.brokers.values.filter { !$0.fenced }.map(\.id)
        let assignment = TopicRules.assignReplicas(partitions: partitions, replicationFactor: replicationFactor,
                                                   brokers: live, start: Int(truncatingIfNeeded: id.low % 1024))
        for (index, replicas) in assignment.enumerated() {
            var partition = PartitionRecord()
            partition.partitionId = Int32(index)
            partition.topicId = id
            partition.replicas = replicas
            partition.isr = replicas
            partition.leader = replicas[0]
            partition.leaderEpoch = 0
            partition.partitionEpoch = 0
            records.append(partition)
        }
        return records
    }

    private func configRecord(topic: String, key: String, value: String?) -> ConfigRecord {
        var record = ConfigRecord()
        record.resourceType = ConfigResourceType.topic
        record.resourceName = topic
        record.name = key
        record.value = value
        return record
    }

    /// Deletes topics by name; returns an error per name that does not exist.
    public func deleteTopics(_ names: [String], nowMs: Int64) throws -> [String: ErrorCode] {
        try lock.withLock {
            var results: [String: ErrorCode] = [:]
            var records: [any KafkaMetadataRecord] = []
            for name in names {
                guard let topic = image.topic(named: name) else {
                    results[name] = .unknownTopicOrPartition
                    continue
                }
                var remove = RemoveTopicRecord()
                remove.topicId = topic.id
                records.append(remove)
                results[name] = ErrorCode.none
            }
            try commitLocked(records, nowMs: nowMs)
            return results
        }
    }

    /// Sets (value) or removes (nil) topic config overrides after validating every one of them.
    public func alterTopicConfigs(_ topic: String, _ changes: [(key: String, value: String?)], validateOnly: Bool,
                                  nowMs: Int64) throws -> (ErrorCode, String?) {
        try lock.withLock {
            guard image.topic(named: topic) != nil else { return (.unknownTopicOrPartition, "Topic \(topic) not found") }
            for (key, value) in changes {
                guard let value else { continue }
                do { try policy.validateTopicConfig(key, value) } catch { return (.invalidConfig, "\(error)") }
            }
            if !validateOnly {
                try commitLocked(changes.map { configRecord(topic: topic, key: $0.key, value: $0.value) }, nowMs: nowMs)
            }
            return (.none, nil)
        }
    }

    // MARK: Producer ids

    /// Reserves a block of producer ids for a broker (AllocateProducerIds); returns its first id.
    public func allocateProducerIds(brokerId: Int32, nowMs: Int64) throws -> ClosedRange<Int64> {
        try lock.withLock {
            let first = image.nextProducerId
            var record = ProducerIdsRecord()
            record.brokerId = brokerId
            record.brokerEpoch = image.brokers[brokerId]?.epoch ?? 0
            record.nextProducerId = first + Self.producerIdBlockSize
            try commitLocked([record], nowMs: nowMs)
            return first...(first + Self.producerIdBlockSize - 1)
        }
    }

    public func close(nowMs: Int64) throws {
        try lock.withLock { try log.close(nowMs: nowMs) }
    }
}
