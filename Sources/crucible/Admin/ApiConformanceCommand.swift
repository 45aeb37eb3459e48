import ArgumentParser
import CrucibleClient
import Foundation

/// `crucible api-conformance`: the table of every Kafka API, the versions Kafka's schemas define and the ones a
/// Crucible node serves (asked over ApiVersions from a node this command starts, or from --bootstrap-server),
/// written as Markdown. `--check` compares with the committed file instead and exits 1 when it is stale.
struct ApiConformanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-conformance", abstract: "Write or check docs/API-CONFORMANCE.md: Kafka's APIs against what a node serves.")

    @Option(name: .long, help: "Kafka's protocol schemas (a directory holding messages/).") var schemas = "../shared/kafka-protocol"
    @Option(name: .long, help: "The Markdown file to write or check.") var output = "docs/API-CONFORMANCE.md"
    @Option(name: .long, help: "Ask this node instead of starting one.") var bootstrapServer: String?
    @Flag(name: .long, help: "Compare with --output; exit 1 when it differs.") var check = false

    func run() throws {
        let kafka = try KafkaApiSchemas.read(from: schemas + "/messages")
        let served = try bootstrapServer.map(Self.ask) ?? Self.askStandaloneNode()
        let text = ApiConformanceTable(kafka: kafka, served: served).markdown()
        guard check else {
            try text.write(toFile: output, atomically: true, encoding: .utf8)
            print("wrote \(output): \(served.count) APIs served of \(kafka.count)")
            return
        }
        let committed = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard committed == text else {
            let old = Set(committed.split(separator: "\n")), new = Set(text.split(separator: "\n"))
            Tool.printError("\(output) is stale; run `crucible api-conformance`. Lines that differ:")
            for line in text.split(separator: "\n") where !old.contains(line) { Tool.printError("+ \(line)") }
            for line in committed.split(separator: "\n") where !new.contains(line) { Tool.printError("- \(line)") }
            throw ExitCode(1)
        }
        print("\(output) is up to date")
    }

    static func ask(_ bootstrap: String) throws -> [Int16: ClosedRange<Int16>] {
        let client: KafkaClient
        do {
            client = try KafkaClient(bootstrap: bootstrap, clientId: "crucible-api-conformance")
        } catch let error as KafkaClient.BootstrapError {
            throw UsageError("--bootstrap-server: \(error)")
        }
        defer { client.close() }
        return try client.advertisedApiVersions()
    }

    /// A one-node cluster in a temporary directory, asked and stopped.
    static func askStandaloneNode() throws -> [Int16: ClosedRange<Int16>] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-conformance-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let port = try NodeProcess.freePort(), controllerPort = try NodeProcess.freePort()
        let layout = ClusterLayout(clusterId: "conformance", nodes: [
            ClusterLayout.Node(id: 1, port: port, controllerPort: controllerPort, directory: dir + "/node-1", pid: nil),
        ])
        try FileManager.default.createDirectory(atPath: dir + "/node-1", withIntermediateDirectories: true)
        try layout.properties(for: layout.nodes[0], overrides: []).write(toFile: dir + "/node-1/server.properties",
                                                                        atomically: true, encoding: .utf8)
        var node = layout.nodes[0]
        node.pid = try NodeProcess.startStandalone(node)
        defer {
            NodeProcess.signal(node.pid, SIGTERM)
            _ = NodeProcess.waitForExit(node.pid, timeout: 30)
        }
        guard NodeProcess.waitUntilServing(address: "127.0.0.1:\(port)", brokers: 1, timeout: 60) else {
            throw ClusterFailure("the node started to answer ApiVersions did not serve (see \(dir)/node-1/broker.log)")
        }
        return try ask("127.0.0.1:\(port)")
    }
}
