import CrucibleSecurity
import Foundation

/// A verification scenario (`Workloads/verify/*.yaml`): the cluster, the topic, the clients, Jepsen's queue
/// workload, the nemesis and the outcome expected. A test is data: everything a run does follows from this and
/// a seed.
public struct Scenario: Sendable, Equatable {
    public var name: String
    public var description: String
    public var file: String

    /// Nodes of the local cluster and `server.properties` lines for every node.
    public var nodes: Int
    public var serverProperties: [Driver.Property]
    /// The local cluster's listeners: plaintext, or TLS (client certificates, or SCRAM logins) with ACLs enforced.
    public var security: ClusterSecurityMode
    /// A cluster the user runs, described by addresses and commands, instead of one crucible starts.
    public var external: ExternalCluster?

    /// Keys of the queue workload, one topic-partition each, and the topic's settings.
    public var keys: Int
    public var replicationFactor: Int
    public var topicConfig: [Driver.Property]

    /// Client processes, `assign` or `subscribe`, and librdkafka properties for producers and consumers.
    /// `commonConfig` reaches every client, the run's own admin connections included: a secured cluster's
    /// `security.protocol`, SASL login and trust store (librdkafka's keys, or Java's security keys).
    public var processes: Int
    public var mode: ConsumeMode
    public var commonConfig: [Driver.Property]
    public var producerConfig: [Driver.Property]
    public var consumerConfig: [Driver.Property]

    /// Operations per second over all processes, the test's length, the share of sends among operations, how
    /// often (on average, per process) a client is torn down and rebuilt, and the final reads' time limit.
    public var rate: Double
    public var timeLimitSeconds: Double
    public var sendFraction: Double
    public var crashIntervalSeconds: Double
    public var finalReadSeconds: Double
    /// The transactional form (`transactional: true`): every operation a transaction of sends and polls, with
    /// `maxTxnLength` and `abortFraction`; nil for single sends and polls.
    public var transactions: QueueGenerator.Transactions?

    public var nemesis: NemesisSpec
    public var expect: Expectation

    public enum ConsumeMode: String, Sendable, Equatable { case assign, subscribe }
}

/// What a scenario expects of the checker's verdict: valid, or anomaly types that must appear (a setting that
/// allows loss must show it) and others that may.
public struct Expectation: Sendable, Equatable {
    public var valid: Bool
    public var mustAppear: [String]
    public var mayAppear: [String]

    public init(valid: Bool, mustAppear: [String] = [], mayAppear: [String] = []) {
        self.valid = valid
        self.mustAppear = mustAppear
        self.mayAppear = mayAppear
    }

    /// Whether a run whose analysis found `valid` and `anomalies` (the types counted against validity) met it;
    /// the reason when it did not.
    public func judge(valid isValid: Bool?, anomalies: Set<String>) -> (met: Bool, reason: String) {
        guard let isValid else { return (false, "the checker could not decide (unknown)") }
        if valid {
            return isValid ? (true, "valid, as expected")
                : (false, "expected valid, found \(anomalies.sorted().joined(separator: ", "))")
        }
        let missing = mustAppear.filter { !anomalies.contains($0) }
        let unexpected = anomalies.subtracting(mustAppear).subtracting(mayAppear)
        if !missing.isEmpty { return (false, "expected \(missing.joined(separator: ", ")), not found") }
        if !unexpected.isEmpty { return (false, "unexpected \(unexpected.sorted().joined(separator: ", "))") }
        if anomalies.isEmpty { return (true, "valid, which the expectation allows") }
        return (true, "found \(anomalies.sorted().joined(separator: ", ")), as the expectation allows")
    }
}

extension Scenario {
    /// What a producer or consumer of the run is configured with, in librdkafka's names: `commonConfig`, then
    /// the role's own properties (later keys win).
    public func clientProperties(_ role: ClientProperties.Role) -> [Driver.Property] {
        ClientProperties.librdkafkaSecurity(commonConfig) + (role == .producer ? producerConfig : consumerConfig)
    }

    /// How the run's own admin connections (creating the topic, watching the cluster heal) reach the cluster.
    public func clientSecurity() throws -> ClientSecurity {
        do { return try ClientSecurity(commonConfig) } catch { throw WorkloadFileError(file, "clients: commonConfig: \(error)") }
    }
}

extension Scenario {
    /// Reads a scenario file; throws `WorkloadFileError` naming the file and key for anything it cannot use.
    /// Unknown keys are returned as warnings.
    public static func load(path: String) throws -> (Scenario, warnings: [String]) {
        var map = try YAMLMapping.load(path: path)
        var warnings: [String] = []
        let fileName = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        var cluster = try map.mapping("cluster") ?? YAMLMapping(file: "\(path) (cluster)", values: [:])
        var topic = try map.mapping("topic") ?? YAMLMapping(file: "\(path) (topic)", values: [:])
        var clients = try map.mapping("clients") ?? YAMLMapping(file: "\(path) (clients)", values: [:])
        var workload = try map.mapping("workload") ?? YAMLMapping(file: "\(path) (workload)", values: [:])
        var nemesisMap = try map.mapping("nemesis") ?? YAMLMapping(file: "\(path) (nemesis)", values: [:])
        guard var expectMap = try map.mapping("expect") else { throw WorkloadFileError(path, "expect: missing") }

        var externalMap = try cluster.mapping("external")
        var external: ExternalCluster?
        if externalMap != nil { external = try ExternalCluster.load(&externalMap!) }
        let nodes = try cluster.int("nodes", default: external?.addresses.count ?? 3, range: 1...9)
        if let external, external.addresses.count != nodes {
            throw WorkloadFileError(cluster.file, "nodes: \(nodes), but external names \(external.addresses.count) addresses")
        }
        let securityText = try cluster.string("security") ?? "plaintext"
        guard let security = ClusterSecurityMode(rawValue: securityText) else {
            throw WorkloadFileError(cluster.file, "security: \(securityText) is not one of \(ClusterSecurityMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if external != nil && security != .plaintext {
            throw WorkloadFileError(cluster.file, "security: a cluster crucible does not start keeps its own; give its client settings in clients: commonConfig")
        }
        let modeText = try clients.string("mode") ?? "assign"
        guard let mode = ConsumeMode(rawValue: modeText) else {
            throw WorkloadFileError(clients.file, "mode: \(modeText) is not assign or subscribe")
        }
        var scenario = Scenario(
            name: try map.string("name") ?? fileName,
            description: try map.string("description") ?? "",
            file: path,
            nodes: nodes,
            serverProperties: try Driver.properties(&cluster, "serverProperties"),
            security: security,
            external: external,
            keys: try topic.int("keys", default: 4, range: 1...1_000),
            replicationFactor: try topic.int("replicationFactor", default: min(3, nodes), range: 1...nodes),
            topicConfig: try Driver.properties(&topic, "topicConfig"),
            processes: try clients.int("processes", default: 4, range: 1...64),
            mode: mode,
            commonConfig: try Driver.properties(&clients, "commonConfig"),
            producerConfig: try Driver.properties(&clients, "producerConfig"),
            consumerConfig: try Driver.properties(&clients, "consumerConfig"),
            rate: try workload.double("rate", default: 100, range: 0.1...100_000),
            timeLimitSeconds: try workload.double("timeLimitSeconds", default: 60, range: 1...86_400),
            sendFraction: try workload.double("sendFraction", default: 0.5, range: 0...1),
            crashIntervalSeconds: try workload.double("crashIntervalSeconds", default: 0, range: 0...86_400),
            finalReadSeconds: try workload.double("finalReadSeconds", default: 60, range: 1...3_600),
            transactions: try Self.transactions(&workload),
            nemesis: try NemesisSpec.load(&nemesisMap, nodes: nodes),
            expect: try Self.expectation(&expectMap))
        if scenario.name.isEmpty { scenario.name = fileName }
        let targets = scenario.nemesis.targets + scenario.nemesis.schedule.map(\.target)
        if targets.contains(.txnCoordinator) && scenario.transactions == nil {
            throw WorkloadFileError(nemesisMap.file, "targets: txn-coordinator needs the transactional workload (workload: transactional: true)")
        }
        if targets.contains(.groupCoordinator) && mode != .subscribe {
            throw WorkloadFileError(nemesisMap.file, "targets: group-coordinator needs a group (clients: mode: subscribe)")
        }
        if let external {
            try external.check(scenario.nemesis, file: externalMap!.file)
            if !scenario.serverProperties.isEmpty {
                warnings.append("\(cluster.file): serverProperties: a cluster crucible does not start keeps its own settings; ignored")
            }
        }
        for section in [map, cluster, topic, clients, workload, nemesisMap, expectMap] + (externalMap.map { [$0] } ?? []) {
            warnings += section.unreadKeys.map { "\(section.file): \($0): unknown key, ignored" }
        }
        return (scenario, warnings)
    }

    /// The transactional.id of worker `worker`'s producer: one per worker, kept by the process that replaces a
    /// crashed one, whose zombie it then fences.
    public static func transactionalId(topic: String, worker: Int) -> String { "\(topic)-txn-\(worker)" }

    private static func transactions(_ workload: inout YAMLMapping) throws -> QueueGenerator.Transactions? {
        let maxLength = try workload.int("maxTxnLength", default: 4, range: 1...64)
        let abortFraction = try workload.double("abortFraction", default: 0.1, range: 0...1)
        guard try workload.bool("transactional", default: false) else { return nil }
        return QueueGenerator.Transactions(maxLength: maxLength, abortFraction: abortFraction)
    }

    private static func expectation(_ map: inout YAMLMapping) throws -> Expectation {
        let valid = try map.bool("valid", default: false)
        let must = try map.stringList("anomalies")
        let may = try map.stringList("mayAppear")
        if valid && !must.isEmpty { throw WorkloadFileError(map.file, "anomalies: a valid run has none; drop valid or anomalies") }
        if !valid && must.isEmpty && may.isEmpty {
            throw WorkloadFileError(map.file, "valid: expected true, or anomalies that must appear")
        }
        return Expectation(valid: valid, mustAppear: must, mayAppear: may)
    }
}

extension YAMLMapping {
    /// A list of strings, or one string.
    mutating func stringList(_ key: String) throws -> [String] {
        markRead(key)
        guard let value = raw(key), !(value is NSNull) else { return [] }
        if let one = value as? String { return [one] }
        guard let list = value as? [Any] else { throw WorkloadFileError(file, "\(key): expected a list of names") }
        return try list.map { item in
            guard let text = item as? String else { throw WorkloadFileError(file, "\(key): \(item) is not a name") }
            return text
        }
    }
}
