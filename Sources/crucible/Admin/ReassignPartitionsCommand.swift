import ArgumentParser
import CrucibleClient
import CrucibleController
import CrucibleProtocol

/// `kafka-reassign-partitions.sh`: propose a spread of topics over brokers (`--generate`), start moves from a
/// JSON plan (`--execute`, optionally throttled), check them (`--verify`, which clears the throttles once all
/// are done), or cancel them (`--cancel`).
struct ReassignPartitionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reassign-partitions", abstract: "Move partition replicas between brokers (as kafka-reassign-partitions.sh).")

    @OptionGroup var server: BootstrapServer
    @Flag(name: .long, help: "Propose an assignment of --topics-to-move-json-file over --broker-list.") var generate = false
    @Flag(name: .long, help: "Start the moves in --reassignment-json-file.") var execute = false
    @Flag(name: .long, help: "Report the moves in --reassignment-json-file.") var verify = false
    @Flag(name: .long, help: "Cancel the moves in --reassignment-json-file.") var cancel = false
    @Option(name: .long, help: "JSON: {\"topics\":[{\"topic\":T}],\"version\":1}.") var topicsToMoveJsonFile: String?
    @Option(name: .long, help: "Brokers to place replicas on, comma-separated.") var brokerList: String?
    @Option(name: .long, help: "JSON: {\"version\":1,\"partitions\":[{\"topic\":T,\"partition\":P,\"replicas\":[...]}]}.")
    var reassignmentJsonFile: String?
    @Option(name: .long, help: "With --execute: limit replication for the moves to this many bytes/s.") var throttle: Int64?
    @Flag(name: .long, help: "With --execute: start these moves although others are in progress.") var additional = false

    static let throttleKeys = ["leader.replication.throttled.rate", "follower.replication.throttled.rate"]
    static let throttledReplicaKeys = ["leader.replication.throttled.replicas", "follower.replication.throttled.replicas"]

    func run() throws {
        guard [generate, execute, verify, cancel].filter({ $0 }).count == 1 else {
            throw UsageError("exactly one of --generate, --execute, --verify, --cancel is required")
        }
        if let throttle, throttle < 1 || !execute { throw UsageError("--throttle \(throttle): needs --execute and a positive rate") }
        let plan = try generate ? [] : readPlan()
        let toMove = try generate ? readTopicsToMove() : []
        let brokers = try generate ? parseBrokerList() : []
        let client = try server.connect(clientId: "crucible-reassign-partitions")
        defer { client.close() }
        do {
            if generate { try proposeAssignment(client, topics: toMove, brokers: brokers) }
            if execute { try start(client, plan) }
            if verify { try report(client, plan) }
            if cancel { try cancelMoves(client, plan) }
        } catch let error as KafkaClientError {
            Tool.fail("Error: \(error)")
        }
    }

    private func readPlan() throws -> [(TopicPartition, [Int32])] {
        guard let reassignmentJsonFile else { throw UsageError("--reassignment-json-file is required") }
        let file = try AdminJSONFile(flag: "--reassignment-json-file", path: reassignmentJsonFile)
        let plan = try file.partitions().map { partition, entry in (partition, try file.ints(entry, "replicas")) }
        guard !plan.isEmpty else { throw file.fail("names no partitions") }
        for (partition, replicas) in plan where replicas.isEmpty || Set(replicas).count != replicas.count {
            throw file.fail("the replicas of \(partition) must be distinct broker ids, at least one")
        }
        return plan
    }

    private func readTopicsToMove() throws -> [String] {
        guard let topicsToMoveJsonFile else { throw UsageError("--topics-to-move-json-file is required with --generate") }
        let file = try AdminJSONFile(flag: "--topics-to-move-json-file", path: topicsToMoveJsonFile)
        let topics = try file.objects("topics").map { try file.string($0, "topic") }
        guard !topics.isEmpty else { throw file.fail("names no topics") }
        return topics
    }

    private func parseBrokerList() throws -> [Int32] {
        guard let brokerList else { throw UsageError("--broker-list is required with --generate") }
        let ids = brokerList.split(separator: ",").map { Int32($0.trimmingCharacters(in: .whitespaces)) }
        guard !ids.isEmpty, ids.allSatisfy({ $0 != nil }) else { throw UsageError("--broker-list \(brokerList): expected broker ids") }
        return ids.map { $0! }
    }

    private func currentAssignment(_ client: KafkaClient, _ partitions: [TopicPartition]) throws -> [(TopicPartition, [Int32])] {
        let metadata = try client.refreshMetadata(topics: Array(Set(partitions.map(\.topic))))
        return try partitions.map { partition in
            guard let found = metadata.topics[partition.topic]?.partitions.first(where: { $0.partition == partition.partition }) else {
                throw KafkaClientError.kafka(.unknownTopicOrPartition, message: "\(partition) does not exist")
            }
            return (partition, found.replicas)
        }
    }

    private func proposeAssignment(_ client: KafkaClient, topics: [String], brokers: [Int32]) throws {
        let metadata = try client.refreshMetadata(topics: topics)
        var current: [(TopicPartition, [Int32])] = []
        var proposed: [(TopicPartition, [Int32])] = []
        for name in topics {
            guard let topic = metadata.topics[name], topic.error == .none else {
                throw KafkaClientError.kafka(.unknownTopicOrPartition, message: "topic \(name) does not exist")
            }
            let replicationFactor = topic.partitions.first?.replicas.count ?? 1
            guard replicationFactor <= brokers.count else {
                throw KafkaClientError.kafka(.invalidReplicationFactor,
                                             message: "replication factor \(replicationFactor) is larger than the \(brokers.count) brokers given")
            }
            let spread = TopicRules.assignReplicas(partitions: Int32(topic.partitions.count),
                                                   replicationFactor: Int16(replicationFactor), brokers: brokers,
                                                   start: name.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xffff } % brokers.count)
            for partition in topic.partitions {
                current.append((TopicPartition(name, partition.partition), partition.replicas))
                proposed.append((TopicPartition(name, partition.partition), spread[Int(partition.partition)]))
            }
        }
        print("Current partition replica assignment\n\(AdminJSON.assignment(current))\n")
        print("Proposed partition reassignment configuration\n\(AdminJSON.assignment(proposed))")
    }

    private func start(_ client: KafkaClient, _ plan: [(TopicPartition, [Int32])]) throws {
        if !additional, !(try client.listPartitionReassignments()).isEmpty {
            Tool.fail("Cannot execute because there is an existing partition assignment.  Use --additional to override this and create a new partition assignment in addition to the existing one.")
        }
        let known = Set(try client.refreshMetadata(topics: []).brokers.keys)
        if let unknown = plan.flatMap(\.1).first(where: { !known.contains($0) }) { Tool.fail("Unknown broker id \(unknown)") }
        let current = try currentAssignment(client, plan.map(\.0))
        print("Current partition replica assignment\n\n\(AdminJSON.assignment(current))\n")
        print("Save this to use as the --reassignment-json-file option during rollback")
        if let throttle { try setThrottles(client, plan: plan, current: current, rate: throttle) }
        let results = try client.alterPartitionReassignments(Dictionary(plan.map { ($0.0, Optional($0.1)) },
                                                                        uniquingKeysWith: { a, _ in a }))
        let failed = results.filter { $0.error != .none }
        guard failed.isEmpty else {
            for result in failed { print("Error reassigning partition(s):\n\(result.partition): \(result.error.name): \(result.message ?? "")") }
            Tool.fail("\(failed.count) partition reassignment(s) could not be started")
        }
        print("Successfully started partition reassignment\(plan.count == 1 ? "" : "s") for \(plan.map(\.0).sorted().map(\.description).joined(separator: ","))")
    }

    /// As Kafka's tool: the existing replicas are throttled as leaders, the new ones as followers, and every
    /// broker involved gets the rate.
    private func setThrottles(_ client: KafkaClient, plan: [(TopicPartition, [Int32])], current: [(TopicPartition, [Int32])],
                              rate: Int64) throws {
        let before = Dictionary(current.map { ($0.0.description, $0.1) }, uniquingKeysWith: { a, _ in a })
        for (topic, moves) in Dictionary(grouping: plan, by: { $0.0.topic }) {
            let leaders = moves.flatMap { partition, _ in (before[partition.description] ?? []).map { "\(partition.partition):\($0)" } }
            let followers = moves.flatMap { partition, target in
                target.filter { !(before[partition.description] ?? []).contains($0) }.map { "\(partition.partition):\($0)" }
            }
            try client.incrementalAlterConfigs(.topic, topic, [
                .set(Self.throttledReplicaKeys[0], leaders.joined(separator: ",")),
                .set(Self.throttledReplicaKeys[1], followers.joined(separator: ",")),
            ])
        }
        let brokers = Set(plan.flatMap(\.1) + current.flatMap(\.1)).sorted()
        for broker in brokers {
            try client.incrementalAlterConfigs(.broker, String(broker), Self.throttleKeys.map { .set($0, String(rate)) })
        }
        print("Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.")
        print("The inter-broker throttle limit was set to \(rate) B/s")
    }

    private func report(_ client: KafkaClient, _ plan: [(TopicPartition, [Int32])]) throws {
        let ongoing = Set(try client.listPartitionReassignments(plan.map(\.0)).map(\.partition))
        let current = Dictionary(try currentAssignment(client, plan.map(\.0)).map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        print("Status of partition reassignment:")
        var allDone = true
        for (partition, target) in plan.sorted(by: { $0.0 < $1.0 }) {
            if ongoing.contains(partition) {
                allDone = false
                print("Reassignment of partition \(partition) is still in progress.")
            } else if current[partition] == target {
                print("Reassignment of partition \(partition) is completed.")
            } else {
                allDone = false
                print("There is no active reassignment of partition \(partition), but replica set is "
                      + "\(current[partition]?.map(String.init).joined(separator: ",") ?? "") rather than "
                      + "\(target.map(String.init).joined(separator: ",")).")
            }
        }
        guard allDone else { return }
        try clearThrottles(client, plan: plan)
    }

    private func clearThrottles(_ client: KafkaClient, plan: [(TopicPartition, [Int32])]) throws {
        let brokers = try client.refreshMetadata(topics: []).brokers.keys.sorted()
        print("\nClearing broker-level throttles on brokers \(brokers.map(String.init).joined(separator: ","))")
        for broker in brokers {
            try client.incrementalAlterConfigs(.broker, String(broker), Self.throttleKeys.map { .delete($0) })
        }
        for topic in Set(plan.map(\.0.topic)).sorted() {
            print("Clearing topic-level throttles on topic \(topic)")
            try client.incrementalAlterConfigs(.topic, topic, Self.throttledReplicaKeys.map { .delete($0) })
        }
    }

    private func cancelMoves(_ client: KafkaClient, _ plan: [(TopicPartition, [Int32])]) throws {
        let ongoing = Set(try client.listPartitionReassignments(plan.map(\.0)).map(\.partition))
        let toCancel = plan.map(\.0).filter(ongoing.contains).sorted()
        guard !toCancel.isEmpty else {
            print("None of the specified partition reassignments are active.")
            return
        }
        let results = try client.alterPartitionReassignments(Dictionary(toCancel.map { ($0, nil) }, uniquingKeysWith: { a, _ in a }))
        let failed = results.filter { $0.error != .none && $0.error != .noReassignmentInProgress }
        guard failed.isEmpty else {
            Tool.fail("Error cancelling partition reassignment(s): \(failed.map { "\($0.partition): \($0.error.name)" }.joined(separator: ", "))")
        }
        print("Successfully cancelled partition reassignment\(toCancel.count == 1 ? "" : "s") for: \(toCancel.map(\.description).joined(separator: ","))")
        try clearThrottles(client, plan: plan)
    }
}
