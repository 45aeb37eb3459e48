import CrucibleProtocol

/// Kafka's config resource types (DescribeConfigs, IncrementalAlterConfigs).
public enum ConfigResourceType: Int8, Sendable {
    case topic = 2
    case broker = 4
}

/// Kafka's config sources, with the names its tools print (`ConfigEntry.ConfigSource`).
public enum ConfigSource: Int8, Sendable {
    case unknown = 0, dynamicTopic = 1, dynamicBroker = 2, dynamicDefaultBroker = 3, staticBroker = 4
    case defaultConfig = 5, dynamicBrokerLogger = 6, dynamicClientMetrics = 7, dynamicGroup = 8

    public var name: String {
        switch self {
        case .unknown: return "UNKNOWN"
        case .dynamicTopic: return "DYNAMIC_TOPIC_CONFIG"
        case .dynamicBroker: return "DYNAMIC_BROKER_CONFIG"
        case .dynamicDefaultBroker: return "DYNAMIC_DEFAULT_BROKER_CONFIG"
        case .staticBroker: return "STATIC_BROKER_CONFIG"
        case .defaultConfig: return "DEFAULT_CONFIG"
        case .dynamicBrokerLogger: return "DYNAMIC_BROKER_LOGGER_CONFIG"
        case .dynamicClientMetrics: return "DYNAMIC_CLIENT_METRICS_CONFIG"
        case .dynamicGroup: return "DYNAMIC_GROUP_CONFIG"
        }
    }
}

public struct ConfigEntry: Sendable {
    public var name: String
    public var value: String?
    public var source: ConfigSource
    public var isSensitive: Bool
    public var isReadOnly: Bool
    public var synonyms: [(name: String, value: String?, source: ConfigSource)]
}

/// A change for IncrementalAlterConfigs.
public enum ConfigChange: Sendable {
    case set(String, String)
    case delete(String)
}

public struct TopicCreation: Sendable {
    public var name: String
    /// -1: the broker's `num.partitions`.
    public var partitions: Int32
    /// -1: the broker's `default.replication.factor`.
    public var replicationFactor: Int16
    public var configs: [(String, String)]
    /// A manual assignment: partition i on `assignments[i]` (partitions and replication factor then -1).
    public var assignments: [[Int32]]

    public init(name: String, partitions: Int32 = -1, replicationFactor: Int16 = -1, configs: [(String, String)] = [],
                assignments: [[Int32]] = []) {
        self.name = name
        self.assignments = assignments
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

extension KafkaClient {
    /// Creates one topic; returns its id. Failures (TOPIC_ALREADY_EXISTS, ...) throw with the broker's message.
    @discardableResult
    public func createTopic(_ creation: TopicCreation) throws -> KafkaUUID {
        var topic = CreateTopicsRequest.CreatableTopic()
        topic.name = creation.name
        topic.numPartitions = creation.partitions
        topic.replicationFactor = creation.replicationFactor
        topic.assignments = creation.assignments.enumerated().map { index, brokers in
            var assignment = CreateTopicsRequest.CreatableReplicaAssignment()
            assignment.partitionIndex = Int32(index)
            assignment.brokerIds = brokers
            return assignment
        }
        topic.configs = creation.configs.map { name, value in
            var config = CreateTopicsRequest.CreatableTopicConfig()
            config.name = name
            config.value = value
            return config
        }
        var request = CreateTopicsRequest()
        request.topics = [topic]
        request.timeoutMs = Int32(requestTimeout.nanoseconds / 1_000_000)
        let connection = try anyConnection()
        // Defaults (-1) need CreateTopics v4; older brokers require explicit numbers.
        if try connection.version(of: .createTopics) < 4, creation.partitions < 0 || creation.replicationFactor < 0 {
            throw KafkaClientError.unsupportedApi(.createTopics)
        }
        let (response, _) = try call(request, on: connection)
        guard let result = response.topics.first(where: { $0.name == creation.name }) else {
            throw KafkaClientError.malformedResponse("CreateTopics answer does not name \(creation.name)")
        }
        try ErrorCode(rawValue: result.errorCode).check(result.errorMessage)
        return result.topicId
    }

    public func deleteTopic(_ name: String) throws {
        var request = DeleteTopicsRequest()
        var state = DeleteTopicsRequest.DeleteTopicState()
        state.name = name
        request.topics = [state]  // v6+
        request.topicNames = [name]  // v0-5
        request.timeoutMs = Int32(requestTimeout.nanoseconds / 1_000_000)
        let (response, _) = try call(request, on: try anyConnection())
        guard let result = response.responses.first(where: { $0.name == name }) else {
            throw KafkaClientError.malformedResponse("DeleteTopics answer does not name \(name)")
        }
        try ErrorCode(rawValue: result.errorCode).check(result.errorMessage)
    }

    /// Every config of a resource, with sources and synonyms.
    public func describeConfigs(_ type: ConfigResourceType, _ name: String) throws -> [ConfigEntry] {
        var resource = DescribeConfigsRequest.DescribeConfigsResource()
        resource.resourceType = type.rawValue
        resource.resourceName = name
        resource.configurationKeys = nil
        var request = DescribeConfigsRequest()
        request.resources = [resource]
        request.includeSynonyms = true
        // A broker's own configs are described by that broker (Kafka's admin client does the same).
        let target = try type == .broker ? Int32(name).map { try connection(to: $0) } ?? anyConnection() : anyConnection()
        let (response, version) = try call(request, on: target)
        guard let result = response.results.first(where: { $0.resourceName == name }) else {
            throw KafkaClientError.malformedResponse("DescribeConfigs answer does not name \(name)")
        }
        try ErrorCode(rawValue: result.errorCode).check(result.errorMessage)
        return result.configs.map { config in
            // v0 has only isDefault; v1+ says where each value comes from.
            let source = version >= 1 ? ConfigSource(rawValue: config.configSource) ?? .unknown
                : (config.isDefault ? .defaultConfig : (type == .topic ? .dynamicTopic : .staticBroker))
            return ConfigEntry(name: config.name, value: config.value, source: source, isSensitive: config.isSensitive,
                               isReadOnly: config.readOnly,
                               synonyms: config.synonyms.map { ($0.name, $0.value, ConfigSource(rawValue: $0.source) ?? .unknown) })
        }
    }

    /// Applies SET and DELETE operations to one resource's configs.
    public func incrementalAlterConfigs(_ type: ConfigResourceType, _ name: String, _ changes: [ConfigChange]) throws {
        var resource = IncrementalAlterConfigsRequest.AlterConfigsResource()
        resource.resourceType = type.rawValue
        resource.resourceName = name
        resource.configs = changes.map { change in
            var config = IncrementalAlterConfigsRequest.AlterableConfig()
            switch change {
            case .set(let key, let value):
                (config.name, config.configOperation, config.value) = (key, 0, value)
            case .delete(let key):
                (config.name, config.configOperation, config.value) = (key, 1, nil)
            }
            return config
        }
        var request = IncrementalAlterConfigsRequest()
        request.resources = [resource]
        let (response, _) = try call(request, on: try anyConnection())
        guard let result = response.responses.first(where: { $0.resourceName == name }) else {
            throw KafkaClientError.malformedResponse("IncrementalAlterConfigs answer does not name \(name)")
        }
        try ErrorCode(rawValue: result.errorCode).check(result.errorMessage)
    }
}
