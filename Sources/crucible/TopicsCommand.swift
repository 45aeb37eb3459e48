import ArgumentParser
import CrucibleClient
import CrucibleProtocol

/// `kafka-topics.sh`: create, list, describe and delete topics.
struct TopicsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics", abstract: "Create, list, describe, alter and delete topics (as kafka-topics.sh).")

    @OptionGroup var server: BootstrapServer

    @Flag(name: .long, help: "Create a topic.") var create = false
    @Flag(name: .long, help: "List all topics.") var list = false
    @Flag(name: .long, help: "Describe one topic, or all.") var describe = false
    @Flag(name: .long, help: "Delete a topic.") var delete = false
    @Flag(name: .long, help: "Add partitions to a topic (with --partitions, optionally --replica-assignment).")
    var alter = false

    @Option(name: .long, help: "The topic.") var topic: String?
    @Option(name: .long, help: "Partitions of a new topic (default: the broker's num.partitions).") var partitions: Int32?
    @Option(name: .long, help: "Replicas of each partition (default: the broker's default.replication.factor).")
    var replicationFactor: Int16?
    @Option(name: .long, help: "A topic config override KEY=VALUE (repeatable).") var config: [String] = []
    @Option(name: .long, help: "Manual placement: partitions separated by commas, their replicas by colons (1:2,2:3).")
    var replicaAssignment: String?
    @Flag(name: .long, help: "With --create: succeed quietly if the topic exists.") var ifNotExists = false
    @Flag(name: .long, help: "With --delete or --describe: succeed quietly if the topic does not exist.") var ifExists = false

    func run() throws {
        let actions = [create, list, describe, delete, alter].filter { $0 }.count
        guard actions == 1 else {
            throw UsageError("exactly one of --create, --list, --describe, --alter, --delete is required")
        }
        if (create || delete || alter), topic == nil {
            throw UsageError("--topic is required with --\(create ? "create" : delete ? "delete" : "alter")")
        }
        let assignment = try replicaAssignment.map(Self.parseAssignment)
        if assignment != nil && (partitions != nil && create || replicationFactor != nil) {
            throw UsageError("--replica-assignment cannot be used with --partitions or --replication-factor")
        }
        if alter && partitions == nil { throw UsageError("--alter needs --partitions") }
        if let partitions, partitions < 1 { throw UsageError("--partitions \(partitions): must be at least 1") }
        if let replicationFactor, replicationFactor < 1 {
            throw UsageError("--replication-factor \(replicationFactor): must be at least 1")
        }
        let configs = try config.map { try Tool.keyValue($0, flag: "--config") }
        let client = try server.connect(clientId: "crucible-topics")
        defer { client.close() }
        do {
            if create { try createTopic(client, configs: configs, assignment: assignment ?? []) }
            if alter { try addPartitions(client, assignment: assignment) }
            if list { try listTopics(client) }
            if describe { try describeTopics(client) }
            if delete { try deleteTopic(client) }
        } catch let error as KafkaClientError {
            Tool.fail("Error while executing topic command : \(Self.explain(error, topic: topic))")
        }
    }

    /// Kafka's wording for the common failures.
    static func explain(_ error: KafkaClientError, topic: String?) -> String {
        switch error.errorCode {
        case .topicAlreadyExists?: return "Topic '\(topic ?? "")' already exists."
        case .unknownTopicOrPartition?, .unknownTopicId?: return "Topic '\(topic ?? "")' does not exist as expected"
        default: return error.description
        }
    }

    /// `1:2,2:3`: partition 0 on brokers 1 and 2, partition 1 on 2 and 3 (kafka-topics.sh's syntax).
    static func parseAssignment(_ text: String) throws -> [[Int32]] {
        let partitions = text.split(separator: ",", omittingEmptySubsequences: false).map { partition in
            partition.split(separator: ":", omittingEmptySubsequences: false).map { Int32($0.trimmingCharacters(in: .whitespaces)) }
        }
        guard !partitions.isEmpty, partitions.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0 != nil } }) else {
            throw UsageError("--replica-assignment \(text): expected broker ids, partitions separated by ',' and replicas by ':'")
        }
        let replicas = partitions.map { $0.map { $0! } }
        if let duplicated = replicas.first(where: { Set($0).count != $0.count }) {
            throw UsageError("--replica-assignment \(text): partition replicas \(duplicated) name a broker twice")
        }
        return replicas
    }

    /// `--alter --partitions N`: like kafka-topics.sh, a `--replica-assignment` lists every partition, and only
    /// the entries past the existing ones are used.
    private func addPartitions(_ client: KafkaClient, assignment: [[Int32]]?) throws {
        let name = topic!
        let existing = try client.refreshMetadata(topics: [name]).topics[name]
        guard let existing, existing.error == .none else { throw KafkaClientError.kafka(.unknownTopicOrPartition, message: nil) }
        let added = assignment.map { Array($0.dropFirst(existing.partitions.count)) }
        if let added, added.count != Int(partitions!) - existing.partitions.count {
            throw UsageError("--replica-assignment lists \(assignment!.count) partitions, but --partitions \(partitions!) asks for \(partitions!)")
        }
        try client.createPartitions(name, count: partitions!, assignments: added)  // kafka-topics.sh prints nothing
    }

    private func createTopic(_ client: KafkaClient, configs: [(key: String, value: String)], assignment: [[Int32]]) throws {
        let name = topic!
        do {
            try client.createTopic(TopicCreation(name: name, partitions: assignment.isEmpty ? partitions ?? -1 : -1,
                                                 replicationFactor: replicationFactor ?? -1,
                                                 configs: configs.map { ($0.key, $0.value) }, assignments: assignment))
            print("Created topic \(name).")
        } catch let error as KafkaClientError where error.errorCode == .topicAlreadyExists && ifNotExists {
            return
        }
    }

    private func listTopics(_ client: KafkaClient) throws {
        for name in try client.refreshMetadata(topics: nil).topics.keys.sorted() { print(name) }
    }

    private func deleteTopic(_ client: KafkaClient) throws {
        do {
            try client.deleteTopic(topic!)
        } catch let error as KafkaClientError where ifExists && [.unknownTopicOrPartition, .unknownTopicId].contains(error.errorCode) {
            return
        }
    }

    private func describeTopics(_ client: KafkaClient) throws {
        let metadata = try client.refreshMetadata(topics: topic.map { [$0] })
        var topics = metadata.topics.values.sorted { $0.name < $1.name }
        if let topic {
            topics = topics.filter { $0.name == topic && $0.error != .unknownTopicOrPartition }
            if topics.isEmpty {
                if ifExists { return }
                throw KafkaClientError.kafka(.unknownTopicOrPartition, message: nil)
            }
        }
        for described in topics {
            try described.error.check(described.name)
            let overrides = try client.describeConfigs(.topic, described.name).filter { $0.source != .defaultConfig }
            print(Self.summaryLine(described, configs: overrides))
            for partition in described.partitions { print(Self.partitionLine(described.name, partition)) }
        }
    }

    /// `Topic: T\tTopicId: ID\tPartitionCount: N\tReplicationFactor: R\tConfigs: k=v,...` as kafka-topics.sh;
    /// Configs lists the values that are not defaults.
    static func summaryLine(_ topic: TopicMetadata, configs: [ConfigEntry]) -> String {
        let replicationFactor = topic.partitions.first?.replicas.count ?? 0
        let configText = configs.map { "\($0.name)=\($0.isSensitive ? "null" : $0.value ?? "null")" }.joined(separator: ",")
        return "Topic: \(topic.name)\tTopicId: \(topic.topicId)\tPartitionCount: \(topic.partitions.count)\t"
            + "ReplicationFactor: \(replicationFactor)\tConfigs: \(configText)"
    }

    /// `Topic: T\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2` (the contract's line; "none" when leaderless).
    static func partitionLine(_ topic: String, _ partition: PartitionMetadata) -> String {
        let leader = partition.leader >= 0 ? String(partition.leader) : "none"
        return "Topic: \(topic)\tPartition: \(partition.partition)\tLeader: \(leader)\t"
            + "Replicas: \(partition.replicas.map(String.init).joined(separator: ","))\t"
            + "Isr: \(partition.isr.map(String.init).joined(separator: ","))"
    }
}
