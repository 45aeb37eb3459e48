import CrucibleProtocol
import CrucibleSecurity
import NIOCore

/// One partition as the metadata log describes it.
public struct PartitionImage: Equatable, Sendable {
    public var partition: Int32
    public var replicas: [Int32]
    public var isr: [Int32]
    public var leader: Int32
    public var leaderEpoch: Int32
    public var partitionEpoch: Int32
    /// A reassignment in progress (KIP-455): replicas being added, which must join the ISR before the move
    /// completes, and replicas that leave once it does. `replicas` holds both sets meanwhile.
    public var addingReplicas: [Int32] = []
    public var removingReplicas: [Int32] = []

    public var isReassigning: Bool { !addingReplicas.isEmpty || !removingReplicas.isEmpty }
    /// The replica set the reassignment moves to (the whole set when none is in progress).
    public var targetReplicas: [Int32] { replicas.filter { !removingReplicas.contains($0) } }
    /// The replica set before the reassignment started (what a cancellation returns to).
    public var originalReplicas: [Int32] { replicas.filter { !addingReplicas.contains($0) } }
}

public struct TopicImage: Equatable, Sendable {
    public var name: String
    public var id: KafkaUUID
    public var partitions: [Int32: PartitionImage] = [:]
    /// Topic-level config overrides (ConfigRecord with resource type TOPIC).
    public var configs: [String: String] = [:]

    public var partitionCount: Int { partitions.count }
}

public struct BrokerEndpointImage: Equatable, Sendable {
    public var name: String
    public var host: String
    public var port: Int32

    public init(name: String, host: String, port: Int32) {
        self.name = name
        self.host = host
        self.port = port
    }
}

public struct BrokerImage: Equatable, Sendable {
    public var id: Int32
    public var epoch: Int64
    public var endpoints: [BrokerEndpointImage]
    public var rack: String?
    public var fenced: Bool
}

/// Everything the metadata log has said so far, folded into the current state. Brokers answer Metadata from
/// it; the controller decides from it. A pure value: apply records in log order and you get the same image.
public struct MetadataImage: Equatable, Sendable {
    public private(set) var topicsByName: [String: TopicImage] = [:]
    public private(set) var topicNamesById: [KafkaUUID: String] = [:]
    public private(set) var brokers: [Int32: BrokerImage] = [:]
    /// Dynamic broker configs (ConfigRecord with resource type BROKER): by resource name, "" being the
    /// cluster-wide default and a node id that node's own.
    public private(set) var brokerConfigs: [String: [String: String]] = [:]
    /// The next producer id block starts here (ProducerIdsRecord).
    public private(set) var nextProducerId: Int64 = 0
    /// SCRAM credentials by user and mechanism (UserScramCredentialRecord): salted, never a password.
    public private(set) var scramCredentials: [String: [ScramMechanism: ScramCredential]] = [:]
    /// ACLs by id (AccessControlEntryRecord).
    public private(set) var acls: [KafkaUUID: AclBinding] = [:]
    /// Feature levels (FeatureLevelRecord); `metadata.version` marks a log the bootstrap records went into.
    public private(set) var features: [String: Int16] = [:]
    /// Offset of the last record applied; -1 for an empty log.
    public private(set) var appliedOffset: Int64 = -1

    public init() {}

    public func topic(named name: String) -> TopicImage? { topicsByName[name] }

    public func topic(id: KafkaUUID) -> TopicImage? { topicNamesById[id].flatMap { topicsByName[$0] } }

    public var sortedTopics: [TopicImage] { topicsByName.keys.sorted().map { topicsByName[$0]! } }

    /// Registered brokers that are not fenced.
    public var liveBrokerIds: Set<Int32> { Set(brokers.values.filter { !$0.fenced }.map(\.id)) }

    /// The dynamic broker configs in force for `broker`: the cluster-wide defaults, overridden by its own.
    public func dynamicBrokerConfigs(for broker: Int32) -> [String: String] {
        (brokerConfigs[""] ?? [:]).merging(brokerConfigs[String(broker)] ?? [:]) { _, own in own }
    }

    public mutating func apply(_ record: any KafkaMetadataRecord, offset: Int64) {
        precondition(offset > appliedOffset, "metadata records apply in log order")
        appliedOffset = offset
        switch record {
        case let topic as TopicRecord:
            topicsByName[topic.name] = TopicImage(name: topic.name, id: topic.topicId)
            topicNamesById[topic.topicId] = topic.name
        case let partition as PartitionRecord:
            guard let name = topicNamesById[partition.topicId] else { return }
            topicsByName[name]!.partitions[partition.partitionId] = PartitionImage(
                partition: partition.partitionId, replicas: partition.replicas, isr: partition.isr,
                leader: partition.leader, leaderEpoch: partition.leaderEpoch, partitionEpoch: partition.partitionEpoch,
                addingReplicas: partition.addingReplicas, removingReplicas: partition.removingReplicas)
        case let change as PartitionChangeRecord:
            applyChange(change)
        case let config as ConfigRecord where config.resourceType == ConfigResourceType.topic:
            guard topicsByName[config.resourceName] != nil else { return }
            // A null value removes the override (back to the broker default).
            topicsByName[config.resourceName]!.configs[config.name] = config.value
        case let config as ConfigRecord where config.resourceType == ConfigResourceType.broker:
            brokerConfigs[config.resourceName, default: [:]][config.name] = config.value
            if brokerConfigs[config.resourceName]?.isEmpty == true { brokerConfigs.removeValue(forKey: config.resourceName) }
        case let remove as RemoveTopicRecord:
            guard let name = topicNamesById.removeValue(forKey: remove.topicId) else { return }
            topicsByName.removeValue(forKey: name)
        case let ids as ProducerIdsRecord:
            nextProducerId = max(nextProducerId, ids.nextProducerId)
        case let register as RegisterBrokerRecord:
            brokers[register.brokerId] = BrokerImage(
                id: register.brokerId, epoch: register.brokerEpoch,
                endpoints: register.endPoints.map { BrokerEndpointImage(name: $0.name, host: $0.host, port: Int32($0.port)) },
                rack: register.rack, fenced: register.fenced)
        case let credential as UserScramCredentialRecord:
            guard let mechanism = ScramMechanism(rawValue: credential.mechanism) else { return }
            scramCredentials[credential.name, default: [:]][mechanism] = ScramCredential(
                salt: Array(credential.salt.readableBytesView), storedKey: Array(credential.storedKey.readableBytesView),
                serverKey: Array(credential.serverKey.readableBytesView), iterations: credential.iterations)
        case let removal as RemoveUserScramCredentialRecord:
            guard let mechanism = ScramMechanism(rawValue: removal.mechanism) else { return }
            scramCredentials[removal.name]?.removeValue(forKey: mechanism)
            if scramCredentials[removal.name]?.isEmpty == true { scramCredentials.removeValue(forKey: removal.name) }
        case let entry as AccessControlEntryRecord:
            guard let binding = AclBinding(entry) else { return }
            acls[entry.id] = binding
        case let removal as RemoveAccessControlEntryRecord:
            acls.removeValue(forKey: removal.id)
        case let feature as FeatureLevelRecord:
            features[feature.name] = feature.featureLevel
        case let fence as FenceBrokerRecord:
            brokers[fence.id]?.fenced = true
        case let unfence as UnfenceBrokerRecord:
            brokers[unfence.id]?.fenced = false
        default:
            break  // records this image does not track (quotas, delegation tokens, ...)
        }
    }

    /// PartitionChangeRecord carries only what changed; Kafka's sentinel -2 leader means "unchanged", and the
    /// leader epoch moves only when the leader does.
    private mutating func applyChange(_ change: PartitionChangeRecord) {
        guard let name = topicNamesById[change.topicId],
              var partition = topicsByName[name]?.partitions[change.partitionId] else { return }
        if let isr = change.isr { partition.isr = isr }
        if let replicas = change.replicas { partition.replicas = replicas }
        if let adding = change.addingReplicas { partition.addingReplicas = adding }
        if let removing = change.removingReplicas { partition.removingReplicas = removing }
        if change.leader != -2 && change.leader != partition.leader {
            partition.leader = change.leader
            partition.leaderEpoch += 1
        }
        partition.partitionEpoch += 1
        topicsByName[name]!.partitions[change.partitionId] = partition
    }
}

/// ConfigRecord resource types (Kafka's ConfigResource.Type).
public enum ConfigResourceType {
    public static let topic: Int8 = 2
    public static let broker: Int8 = 4
}

extension UserScramCredentialRecord {
    public init(user: String, mechanism: ScramMechanism, credential: ScramCredential) {
        self.init()
        name = user
        self.mechanism = mechanism.rawValue
        salt = ByteBuffer(bytes: credential.salt)
        storedKey = ByteBuffer(bytes: credential.storedKey)
        serverKey = ByteBuffer(bytes: credential.serverKey)
        iterations = credential.iterations
    }
}

extension AclBinding {
    init?(_ record: AccessControlEntryRecord) {
        self.init(wire: record.resourceType, record.resourceName, record.patternType, record.principal, record.host,
                  record.operation, record.permissionType)
        guard problem == nil else { return nil }
    }
}

extension AccessControlEntryRecord {
    public init(id: KafkaUUID, _ binding: AclBinding) {
        self.init()
        self.id = id
        resourceType = binding.resourceType.rawValue
        resourceName = binding.resourceName
        patternType = binding.patternType.rawValue
        principal = binding.principal
        host = binding.host
        operation = binding.operation.rawValue
        permissionType = binding.permission.rawValue
    }
}
