import CrucibleProtocol

/// A topic the controller is asked to create (from CreateTopics or auto-creation).
public struct TopicCreation: Sendable {
    public var name: String
    /// -1: `num.partitions`.
    public var partitions: Int32
    /// -1: `default.replication.factor`.
    public var replicationFactor: Int16
    public var configs: [String: String]
    /// A manual assignment (CreateTopics `assignments`): partition i on `assignments[i]`, partitions and
    /// replication factor then -1. Empty: placed by the controller.
    public var assignments: [[Int32]]

    public init(name: String, partitions: Int32 = -1, replicationFactor: Int16 = -1, configs: [String: String] = [:],
                assignments: [[Int32]] = []) {
        self.name = name
        self.assignments = assignments
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

public struct TopicCreationResult: Sendable, Equatable {
    public var name: String
    public var error: ErrorCode
    public var message: String?
    public var topicId: KafkaUUID
    public var partitions: Int32
    public var replicationFactor: Int16

    public init(name: String, error: ErrorCode, message: String?, topicId: KafkaUUID, partitions: Int32,
                replicationFactor: Int16) {
        self.name = name
        self.error = error
        self.message = message
        self.topicId = topicId
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }
}

/// Defaults and validation the controller applies; the broker fills it from its config.
public struct ControllerPolicy: Sendable {
    public var defaultPartitions: Int32 = 1
    public var defaultReplicationFactor: Int16 = 1
    /// The broker's `unclean.leader.election.enable`, for topics that do not override it.
    public var uncleanLeaderElectionDefault = false
    /// Validates one topic config entry; throws a message for INVALID_CONFIG.
    public var validateTopicConfig: @Sendable (String, String) throws -> Void = { _, _ in }
    /// Validates one dynamic broker config entry (a key Kafka lets change at run time).
    public var validateBrokerConfig: @Sendable (String, String) throws -> Void = { _, _ in }
    /// What `storage format` left for the first active controller to write (`--add-scram` users), as Kafka's
    /// bootstrap.checkpoint: proposed once, with the `metadata.version` feature level that marks it done.
    public var bootstrapRecords: [any KafkaMetadataRecord] = []

    public init() {}
}
