import ArgumentParser
import CrucibleClient
import CrucibleProtocol

/// `kafka-leader-election.sh`: preferred or unclean leader election for some or all partitions.
struct LeaderElectionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leader-election", abstract: "Elect partition leaders (as kafka-leader-election.sh).")

    @OptionGroup var server: BootstrapServer
    @Option(name: .long, help: "preferred or unclean.") var electionType: String
    @Option(name: .long, help: "The topic (with --partition).") var topic: String?
    @Option(name: .long, help: "The partition (with --topic).") var partition: Int32?
    @Flag(name: .long, help: "Every partition.") var allTopicPartitions = false
    @Option(name: .long, help: "JSON: {\"partitions\":[{\"topic\":T,\"partition\":P}]}.") var pathToJsonFile: String?

    func run() throws {
        let type: Int8
        switch electionType.lowercased() {
        case "preferred": type = 0
        case "unclean": type = 1
        default: throw UsageError("--election-type \(electionType): expected preferred or unclean")
        }
        let label = type == 0 ? "PREFERRED" : "UNCLEAN"
        let sources = [topic != nil || partition != nil, allTopicPartitions, pathToJsonFile != nil].filter { $0 }.count
        guard sources == 1 else {
            throw UsageError("exactly one of --topic/--partition, --all-topic-partitions, --path-to-json-file is required")
        }
        var partitions: [TopicPartition]?
        if let pathToJsonFile {
            let file = try AdminJSONFile(flag: "--path-to-json-file", path: pathToJsonFile)
            partitions = try file.partitions().map(\.0)
        } else if !allTopicPartitions {
            guard let topic, let partition else { throw UsageError("--topic and --partition go together") }
            partitions = [TopicPartition(topic, partition)]
        }
        let client = try server.connect(clientId: "crucible-leader-election")
        defer { client.close() }
        let results: [PartitionResult]
        do {
            results = try client.electLeaders(type: type, partitions: partitions)
        } catch let error as KafkaClientError {
            Tool.fail("Error while electing leaders: \(error)")
        }
        let succeeded = results.filter { $0.error == .none }.map(\.partition.description)
        let noop = results.filter { $0.error == .electionNotNeeded }.map(\.partition.description)
        let failed = results.filter { $0.error != .none && $0.error != .electionNotNeeded }
        if !succeeded.isEmpty {
            print("Successfully completed leader election (\(label)) for partitions \(succeeded.joined(separator: ", "))")
        }
        if !noop.isEmpty { print("Valid replica already elected for partitions \(noop.joined(separator: ", "))") }
        guard failed.isEmpty else {
            for result in failed {
                print("Error completing leader election (\(label)) for partition: \(result.partition): \(result.error.name): \(result.message ?? "")")
            }
            Tool.fail("\(failed.count) replica(s) could not be elected")
        }
    }
}
