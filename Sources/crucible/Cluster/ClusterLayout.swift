import CrucibleSecurity
import CrucibleWorkload
import Foundation

/// A local cluster's shape, written to DIR/cluster.json: each node's id, ports, directory and process.
struct ClusterLayout: Codable {
    struct Node: Codable {
        var id: Int32
        var port: Int
        var controllerPort: Int
        var directory: String
        var pid: Int32?
        /// The node's address and network namespace when it has a host of its own (`NetworkLab`); loopback else.
        var host: String?
        var namespace: String?
        /// The file holding the node's wall-clock offset when its clock can be moved (`FakeClock`).
        var clockFile: String?
        /// The control file of the node's disk-fault library when its disk can be broken (`DiskFaults`).
        var diskFaultFile: String?
        /// Where the node serves `/metrics` (`crucible.metrics.port`).
        var metricsPort: Int?

        /// Where the node's logs live: what a disk fault breaks (its own log file, beside it, keeps working).
        var dataDirectory: String { directory + "/data" }

        var address: String { host ?? "127.0.0.1" }
        var clientAddress: String { "\(address):\(port)" }
        var metricsURL: String? { metricsPort.map { "http://\(address):\($0)/metrics" } }
    }

    var clusterId: String
    var nodes: [Node]
    /// The namespaces and bridge the nodes live in, when they have hosts of their own.
    var network: NetworkLab?
    /// TLS and SASL when started with `--security ssl|sasl_ssl`.
    var security: ClusterSecurity?

    /// How a tool connects to this cluster.
    func clientSecurity() throws -> ClientSecurity { try security?.clientSecurity() ?? .plaintext }

    var bootstrapServers: String { nodes.map(\.clientAddress).joined(separator: ",") }

    static func path(_ dir: String) -> String { dir + "/cluster.json" }

    static func load(_ dir: String) throws -> ClusterLayout {
        guard let data = FileManager.default.contents(atPath: path(dir)) else {
            throw UsageError("no cluster in \(dir): \(path(dir)) is missing (run `crucible cluster up --dir \(dir)`)")
        }
        do {
            return try JSONDecoder().decode(ClusterLayout.self, from: data)
        } catch {
            throw UsageError("\(path(dir)) is not a cluster description: \(error)")
        }
    }

    func save(_ dir: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: Self.path(dir)), options: .atomic)
    }

    func node(_ id: Int32) throws -> Node {
        guard let node = nodes.first(where: { $0.id == id }) else {
            throw UsageError("--node \(id): the cluster has nodes \(nodes.map(\.id))")
        }
        return node
    }

    /// Kafka's server.properties for one combined broker+controller node of this cluster.
    func properties(for node: Node, overrides: [String]) throws -> String {
        let voters = nodes.map { "\($0.id)@\($0.address):\($0.controllerPort)" }.joined(separator: ",")
        let listeners = try security?.nodeProperties(node) ?? [
            "listeners=PLAINTEXT://\(node.address):\(node.port),CONTROLLER://\(node.address):\(node.controllerPort)",
            "advertised.listeners=PLAINTEXT://\(node.clientAddress)",
        ]
        var lines = [
            "node.id=\(node.id)",
            "process.roles=broker,controller",
        ] + listeners + [
            "controller.listener.names=CONTROLLER",
            "controller.quorum.voters=\(voters)",
            "log.dirs=\(node.dataDirectory)",
            "default.replication.factor=\(min(3, nodes.count))",
            "min.insync.replicas=\(nodes.count >= 3 ? 2 : 1)",
        ] + (node.metricsPort.map { ["crucible.metrics.port=\($0)", "crucible.metrics.host=\(node.address)"] } ?? [])
        lines += overrides
        return lines.joined(separator: "\n") + "\n"
    }
}
