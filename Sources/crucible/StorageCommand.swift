import ArgumentParser
import CrucibleBroker
import CrucibleController
import CrucibleStorage

struct StorageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage", abstract: "Format log directories (as kafka-storage.sh).",
        subcommands: [RandomUUID.self, Format.self])

    struct RandomUUID: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "random-uuid", abstract: "Print a new cluster id.")
        func run() { print(ClusterId.random()) }
    }

    struct Format: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write meta.properties into every log directory.")

        @Option(name: .long, help: "server.properties file.")
        var config: String

        @Option(name: .long, help: "Cluster id (from `storage random-uuid`).")
        var clusterId: String

        @Flag(name: .long, help: "Reformat directories that already hold a different cluster's meta.properties.")
        var ignoreFormatted = false

        @Option(name: .long, help: "A SCRAM user the cluster starts with: 'SCRAM-SHA-512=[name=alice,password=secret]' (iterations= too). Repeatable.")
        var addScram: [String] = []

        func run() throws {
            let brokerConfig = try loadBrokerConfig(path: config, overrides: [])
            let credentials: [MetadataBootstrap.Credential]
            do { credentials = try addScram.map(MetadataBootstrap.parseAddScram) } catch {
                throw UsageError("\(error)")
            }

            for directory in Set(brokerConfig.logDirs + [brokerConfig.metadataDirectory]).sorted() {
                if let existing = try MetaProperties.read(from: directory), !ignoreFormatted {
                    guard existing.clusterId == clusterId && existing.nodeId == brokerConfig.nodeId else {
                        throw UsageError("\(directory) is already formatted for cluster \(existing.clusterId)")
                    }
                    print("\(directory) is already formatted")
                    continue
                }
                try MetaProperties(clusterId: clusterId, nodeId: brokerConfig.nodeId,
                                   directoryId: ClusterId.random()).write(to: directory)
                print("Formatting \(directory) with metadata.version for cluster \(clusterId)")
                if directory == brokerConfig.metadataDirectory && !credentials.isEmpty {
                    // Salted here: the bootstrap file never holds a password.
                    try MetadataBootstrap.write(credentials, to: directory)
                }
            }
        }
    }
}
