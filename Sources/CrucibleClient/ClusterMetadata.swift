import CrucibleProtocol

public struct TopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)-\(partition)" }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

public struct BrokerAddress: Hashable, Sendable {
    public var nodeId: Int32
    public var host: String
    public var port: Int

    public init(nodeId: Int32, host: String, port: Int) {
        self.nodeId = nodeId
        self.host = host
        self.port = port
    }
}

public struct PartitionMetadata: Sendable {
    public var partition: Int32
    public var error: ErrorCode
    /// -1 when the partition has no leader.
    public var leader: Int32
    public var leaderEpoch: Int32
    public var replicas: [Int32]
    public var isr: [Int32]
}

public struct TopicMetadata: Sendable {
    public var name: String
    public var topicId: KafkaUUID
    public var error: ErrorCode
    public var isInternal: Bool
    /// Sorted by partition index.
    public var partitions: [PartitionMetadata]
}

/// One Metadata response, indexed.
public struct ClusterMetadata: Sendable {
    public var clusterId: String?
    public var controllerId: Int32
    public var brokers: [Int32: BrokerAddress]
    public var topics: [String: TopicMetadata]

    init(_ response: MetadataResponse) {
        clusterId = response.clusterId
        controllerId = response.controllerId
        brokers = Dictionary(response.brokers.map {
            ($0.nodeId, BrokerAddress(nodeId: $0.nodeId, host: $0.host, port: Int($0.port)))
        }, uniquingKeysWith: { first, _ in first })
        topics = [:]
        for topic in response.topics {
            guard let name = topic.name else { continue }
            topics[name] = TopicMetadata(
                name: name, topicId: topic.topicId, error: ErrorCode(rawValue: topic.errorCode),
                isInternal: topic.isInternal,
                partitions: topic.partitions.map {
                    PartitionMetadata(partition: $0.partitionIndex, error: ErrorCode(rawValue: $0.errorCode),
                                      leader: $0.leaderId, leaderEpoch: $0.leaderEpoch,
                                      replicas: $0.replicaNodes, isr: $0.isrNodes)
                }.sorted { $0.partition < $1.partition })
        }
    }

    /// The leader of `partition`, or nil when the topic, partition or leader is unknown.
    public func leader(of partition: TopicPartition) -> Int32? {
        guard let leader = topics[partition.topic]?.partitions.first(where: { $0.partition == partition.partition })?.leader,
              leader >= 0 else { return nil }
        return leader
    }
}
