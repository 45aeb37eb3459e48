import ArgumentParser
import CrucibleClient

/// `kafka-log-dirs.sh --describe`: every broker's log directories with the size and lag of each replica, as
/// Kafka's JSON.
struct LogDirsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log-dirs", abstract: "Describe brokers' log directories (as kafka-log-dirs.sh).")

    @OptionGroup var server: BootstrapServer
    @Flag(name: .long, help: "Describe the log directories.") var describe = false
    @Option(name: .long, help: "Brokers to ask, comma-separated (default: all).") var brokerList: String?
    @Option(name: .long, help: "Topics to describe, comma-separated (default: all).") var topicList: String?

    func run() throws {
        guard describe else { throw UsageError("--describe is required") }
        let wantedBrokers = try brokerList.map { list in
            try list.split(separator: ",").map { text -> Int32 in
                guard let id = Int32(text.trimmingCharacters(in: .whitespaces)) else {
                    throw UsageError("--broker-list \(list): expected comma-separated broker ids")
                }
                return id
            }
        }
        let topics = topicList.map { $0.split(separator: ",").map { String($0) } }
        let client = try server.connect(clientId: "crucible-log-dirs")
        defer { client.close() }
        do {
            let live = try client.refreshMetadata(topics: []).brokers.keys.sorted()
            let brokers = wantedBrokers ?? live
            if let missing = brokers.first(where: { !live.contains($0) }) {
                Tool.fail("ERROR: The given brokers do not exist from --broker-list: \(missing). Current existent brokers: \(live.map(String.init).joined(separator: ","))")
            }
            print("Querying brokers for log directories information")
            let described = try brokers.map { ($0, try client.describeLogDirs(broker: $0, topics: topics)) }
            print("Received log directory information from brokers \(brokers.map(String.init).joined(separator: ","))")
            print(Self.json(described))
        } catch let error as KafkaClientError {
            Tool.fail("Error while describing log directories: \(error)")
        }
    }

    static func json(_ brokers: [(Int32, [LogDirInfo])]) -> String {
        let entries = brokers.map { broker, dirs in
            let dirText = dirs.map { dir in
                let partitions = dir.replicas.sorted { $0.partition < $1.partition }.map {
                    "{\"partition\":\(AdminJSON.string($0.partition.description)),\"size\":\($0.size),"
                        + "\"offsetLag\":\($0.offsetLag),\"isFuture\":\($0.isFuture)}"
                }
                let error = dir.error == .none ? "null" : AdminJSON.string(dir.error.name)
                return "{\"logDir\":\(AdminJSON.string(dir.path)),\"error\":\(error),\"partitions\":[\(partitions.joined(separator: ","))]}"
            }
            return "{\"broker\":\(broker),\"logDirs\":[\(dirText.joined(separator: ","))]}"
        }
        return "{\"version\":1,\"brokers\":[\(entries.joined(separator: ","))]}"
    }
}
