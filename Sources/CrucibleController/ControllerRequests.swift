import CrucibleProtocol

/// A topic the controller is asked to create (from CreateTopics or auto-creation).
public struct TopicCreation: Sendable {
    public var name: String
    /// -1: `num.partitions`.
    public var partitions: Int32
    /// -1: `default.replication.factor`.
    public var replicationFactor: Int16
    public var configs: [String: String]

    public init(name: String, partitions: Int32 = -1, replicationFactor: Int16 = -1, configs: [String: String] = [:]) {
        self.name = name
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
}

/// Defaults and validation the controller applies; the broker fills it from its config.
public struct ControllerPolicy: Sendable {
    public var defaultPartitions: Int32 = 1
    public var defaultReplicationFactor: Int16 = 1
    /// The broker's `unclean.leader.election.enable`, for topics that do not override it.
    public var uncleanLeaderElectionDefault = false
    /// Validates one topic config entry; throws a message for INVALID_CONFIG.
    public var validateTopicConfig: @Sendable (String, String) throws -> Void = { _, _ in }

    public init() {}
}
