import Foundation

/// A cluster `crucible verify` does not start: its nodes' client addresses and broker ids, and the shell commands
/// that start, kill, pause and resume a node (and print its log), so a user can verify a Kafka or Redpanda cluster
/// they run. In a command, `{node}` is the broker id, `{address}` its `host:port`, `{host}` and `{port}` the parts.
///
///     cluster:
///       external:
///         addresses: [kafka-1:9092, kafka-2:9092, kafka-3:9092]
///         nodeIds: [1, 2, 3]
///         kill: ssh {host} sudo systemctl kill -s KILL kafka
///         start: ssh {host} sudo systemctl start kafka
public struct ExternalCluster: Sendable, Equatable {
    public var addresses: [String]
    public var nodeIds: [Int32]
    /// Shell commands by action: `start`, `kill`, `pause`, `resume`, `logs`.
    public var commands: [String: String]
    /// Each node's `/metrics` (`metricsUrls`, in the order of `addresses`; Kafka behind the JMX exporter, or
    /// Crucible), scraped every second of a run; empty when not given.
    public var metricsURLs: [String] = []

    public static let actions = ["start", "kill", "pause", "resume", "logs"]

    public var bootstrapServers: String { addresses.joined(separator: ",") }

    /// The command for `action` on `node` with its placeholders filled, nil when the scenario gave none.
    public func command(_ action: String, node: Int32) -> String? {
        guard let template = commands[action], let index = nodeIds.firstIndex(of: node) else { return nil }
        let address = addresses[index]
        let host = address.split(separator: ":").dropLast().joined(separator: ":")
        let port = address.split(separator: ":").last.map(String.init) ?? ""
        return template.replacingOccurrences(of: "{node}", with: String(node))
            .replacingOccurrences(of: "{address}", with: address)
            .replacingOccurrences(of: "{host}", with: host)
            .replacingOccurrences(of: "{port}", with: port)
    }

    static func load(_ map: inout YAMLMapping) throws -> ExternalCluster {
        let addresses = try map.stringList("addresses")
        guard !addresses.isEmpty, addresses.allSatisfy({ $0.contains(":") && !$0.hasSuffix(":") }) else {
            throw WorkloadFileError(map.file, "addresses: expected each node's client address as host:port")
        }
        map.markRead("nodeIds")
        var ids = (1...addresses.count).map { Int32($0) }
        if let raw = map.raw("nodeIds") {
            guard let list = raw as? [Any], list.count == addresses.count,
                  let parsed = Optional(list.compactMap { ($0 as? Int).map(Int32.init) }), parsed.count == list.count,
                  Set(parsed).count == parsed.count else {
                throw WorkloadFileError(map.file, "nodeIds: expected \(addresses.count) distinct broker ids, one per address")
            }
            ids = parsed
        }
        var commands: [String: String] = [:]
        for action in actions {
            if let command = try map.string(action), !command.isEmpty { commands[action] = command }
        }
        let metricsURLs = try map.stringList("metricsUrls")
        guard metricsURLs.isEmpty || (metricsURLs.count == addresses.count && metricsURLs.allSatisfy { $0.hasPrefix("http://") }) else {
            throw WorkloadFileError(map.file, "metricsUrls: expected one http://host:port/metrics per address")
        }
        return ExternalCluster(addresses: addresses, nodeIds: ids, commands: commands, metricsURLs: metricsURLs)
    }

    /// The nemesis faults this cluster's commands can carry out: refused, naming the missing command, otherwise.
    func check(_ nemesis: NemesisSpec, file: String) throws {
        let faults = Set(nemesis.faults + nemesis.schedule.map(\.fault))
        for fault in faults {
            let needed: [String]
            switch fault {
            case .kill, .restart: needed = ["kill", "start"]
            case .pause, .resume: needed = ["pause", "resume"]
            case .partition, .lossy, .heal, .bumpClock, .strobeClock, .resetClock, .diskFault, .healDisk:
                throw WorkloadFileError(file, "external: a cluster crucible does not start takes kill and pause faults only, not \(fault.rawValue)")
            }
            if let missing = needed.first(where: { commands[$0] == nil }) {
                throw WorkloadFileError(file, "external: \(missing): a command is needed for the \(fault.rawValue) fault")
            }
        }
    }
}
