import CrucibleController
import CrucibleStorage

/// A node's configuration: Kafka's keys and Kafka's defaults. An unknown key is a warning; a bad value is an
/// error naming the key.
public struct BrokerConfig: Sendable {
    public var nodeId: Int32 = -1
    public var processRoles: Set<String> = ["broker", "controller"]
    public var listeners: [Listener] = [Listener(name: "PLAINTEXT", host: "", port: 9092)]
    public var advertisedListeners: [Listener]?
    public var controllerListenerNames: [String] = ["CONTROLLER"]
    /// `controller.quorum.voters`: id@host:port entries.
    public var controllerQuorumVoters: [(id: Int32, host: String, port: Int)] = []
    public var logDirs: [String] = ["/tmp/kafka-logs"]
    public var metadataLogDir: String?
    public var numPartitions: Int32 = 1
    public var defaultReplicationFactor: Int16 = 1
    public var minInsyncReplicas: Int32 = 1
    public var uncleanLeaderElectionEnable = false
    public var autoCreateTopicsEnable = true
    public var autoLeaderRebalanceEnable = true
    public var leaderImbalanceCheckIntervalSeconds: Int64 = 300
    /// `leader.imbalance.per.broker.percentage`: how much of a broker's preferred leadership may sit elsewhere
    /// before the periodic check moves it back.
    public var leaderImbalancePerBrokerPercentage = 10
    public var logRetentionCheckIntervalMs: Int64 = 300_000
    /// `crucible.metrics.port` (the project's key; Kafka serves JMX instead): where `/metrics` is served in
    /// Prometheus' text format; unset, nowhere. `crucible.metrics.host` defaults to every interface.
    public var metricsPort: Int?
    public var metricsHost = "0.0.0.0"
    /// `log.cleaner.enable`: run the cleaner that compacts logs whose cleanup.policy includes compact.
    public var logCleanerEnable = true
    /// `log.cleaner.backoff.ms`: the pause between cleaner passes over every compacted log.
    public var logCleanerBackoffMs: Int64 = 15_000
    /// `log.cleaner.dedupe.buffer.size`: the bound on one pass's offset map (Kafka's total for all threads).
    public var logCleanerDedupeBufferSize = 134_217_728
    public var replicaLagTimeMaxMs: Int64 = 30_000
    /// What a follower's fetch asks of its leader: `replica.fetch.max.bytes` per partition (at least one batch
    /// comes back whatever the limit), `replica.fetch.response.max.bytes` in all, and `replica.fetch.wait.max.ms`
    /// for data to arrive.
    public var replicaFetchMaxBytes: Int32 = 1_048_576
    public var replicaFetchResponseMaxBytes: Int32 = 10_485_760
    public var replicaFetchWaitMaxMs: Int32 = 500
    public var socketRequestMaxBytes: Int = 104_857_600
    public var brokerSessionTimeoutMs: Int64 = 9_000
    public var brokerHeartbeatIntervalMs: Int64 = 2_000
    public var numIoThreads = 0
    /// Defaults for every topic's log (topic configs override them).
    public var log = LogConfig()
    /// `log.message.timestamp.type` (CreateTime or LogAppendTime).
    public var messageTimestampType = "CreateTime"
    public var compressionType = "producer"
    /// `broker.rack`: where this broker runs, for rack-aware placement and fetching from followers (KIP-392).
    public var brokerRack: String?
    /// `replica.selector.class`: with Kafka's RackAwareReplicaSelector, consumers that name their rack are sent
    /// to a replica in it; unset, every consumer reads from the leader.
    public var replicaSelectorClass: String?
    static let rackAwareSelector = "org.apache.kafka.common.replica.RackAwareReplicaSelector"
    static let leaderSelector = "org.apache.kafka.common.replica.LeaderSelector"
    public var rackAwareFetching: Bool { replicaSelectorClass == Self.rackAwareSelector }
    /// The group coordinator's and `__consumer_offsets`' keys.
    public var groups = GroupConfig()
    public var transactions = TransactionConfig()
    /// Listeners' security protocols, TLS and SASL settings, inter-broker and controller client security.
    public var security = SecurityConfig()
    /// Every key the file set, as written (DescribeConfigs reports them as STATIC_BROKER_CONFIG).
    public private(set) var staticProperties: [String: String] = [:]
    /// Keys the file set that Crucible does not know (warned about at start).
    public private(set) var unknownKeys: [String] = []

    public init() {}

    public var dataDirectory: String { logDirs[0] }
    public var metadataDirectory: String { metadataLogDir ?? logDirs[0] }
    public var isBroker: Bool { processRoles.contains("broker") }
    public var isController: Bool { processRoles.contains("controller") }

    /// The listeners clients connect to (all but the controller ones).
    public var clientListeners: [Listener] {
        listeners.filter { !controllerListenerNames.contains($0.name) }
    }

    /// Where this node reaches `broker` as a replica or coordinator: its `inter.broker.listener.name` endpoint,
    /// else its first client listener.
    public func interBrokerEndpoint(_ broker: BrokerImage) -> BrokerEndpointImage? {
        broker.endpoints.first { $0.name == security.interBrokerListenerName }
            ?? broker.endpoints.first { !controllerListenerNames.contains($0.name) }
    }

    public var advertisedClientListeners: [Listener] {
        (advertisedListeners ?? listeners).filter { !controllerListenerNames.contains($0.name) }
    }

    public init(_ properties: Properties) throws {
        let read = ConfigReader(properties: properties)
        nodeId = Int32(try read.int("node.id", range: -1...Int64(Int32.max)) ?? Int64(nodeId))
        if let roles = read.list("process.roles") {
            guard !roles.isEmpty, roles.allSatisfy({ $0 == "broker" || $0 == "controller" }) else {
                throw ConfigError(key: "process.roles", "must be broker, controller or broker,controller")
            }
            processRoles = Set(roles)
        }
        if let text = read.string("listeners") { listeners = try Listener.parseList(text, key: "listeners") }
        if let text = read.string("advertised.listeners") {
            advertisedListeners = try Listener.parseList(text, key: "advertised.listeners")
        }
        controllerListenerNames = read.list("controller.listener.names")?.map { $0.uppercased() } ?? controllerListenerNames
        if let voters = read.list("controller.quorum.voters") {
            controllerQuorumVoters = try voters.map { try Self.parseVoter($0) }
        }
        if let dirs = read.list("log.dirs") ?? read.list("log.dir") {
            guard !dirs.isEmpty else { throw ConfigError(key: "log.dirs", "is empty") }
            logDirs = dirs
        }
        metadataLogDir = read.string("metadata.log.dir")
        numPartitions = Int32(try read.int("num.partitions", range: 1...1_000_000) ?? Int64(numPartitions))
        defaultReplicationFactor = Int16(try read.int("default.replication.factor", range: 1...32_767)
                                         ?? Int64(defaultReplicationFactor))
        minInsyncReplicas = Int32(try read.int("min.insync.replicas", range: 1...32_767) ?? Int64(minInsyncReplicas))
        uncleanLeaderElectionEnable = try read.bool("unclean.leader.election.enable") ?? uncleanLeaderElectionEnable
        autoCreateTopicsEnable = try read.bool("auto.create.topics.enable") ?? autoCreateTopicsEnable
        autoLeaderRebalanceEnable = try read.bool("auto.leader.rebalance.enable") ?? autoLeaderRebalanceEnable
        leaderImbalanceCheckIntervalSeconds = try read.int("leader.imbalance.check.interval.seconds", range: 1...Int64(Int32.max))
            ?? leaderImbalanceCheckIntervalSeconds
        leaderImbalancePerBrokerPercentage = Int(try read.int("leader.imbalance.per.broker.percentage", range: 0...100)
            ?? Int64(leaderImbalancePerBrokerPercentage))
        logRetentionCheckIntervalMs = try read.int("log.retention.check.interval.ms", range: 1...Int64.max)
            ?? logRetentionCheckIntervalMs
        metricsPort = try read.int("crucible.metrics.port", range: 0...65_535).map(Int.init)
        metricsHost = read.string("crucible.metrics.host") ?? metricsHost
        replicaLagTimeMaxMs = try read.int("replica.lag.time.max.ms", range: 1...Int64.max) ?? replicaLagTimeMaxMs
        replicaFetchMaxBytes = Int32(try read.int("replica.fetch.max.bytes", range: 0...Int64(Int32.max)) ?? Int64(replicaFetchMaxBytes))
        replicaFetchResponseMaxBytes = Int32(try read.int("replica.fetch.response.max.bytes", range: 0...Int64(Int32.max))
                                             ?? Int64(replicaFetchResponseMaxBytes))
        replicaFetchWaitMaxMs = Int32(try read.int("replica.fetch.wait.max.ms", range: 0...Int64(Int32.max)) ?? Int64(replicaFetchWaitMaxMs))
        socketRequestMaxBytes = Int(try read.int("socket.request.max.bytes", range: 1...Int64(Int32.max))
                                    ?? Int64(socketRequestMaxBytes))
        brokerSessionTimeoutMs = try read.int("broker.session.timeout.ms", range: 1...Int64.max) ?? brokerSessionTimeoutMs
        brokerHeartbeatIntervalMs = try read.int("broker.heartbeat.interval.ms", range: 1...Int64.max)
            ?? brokerHeartbeatIntervalMs
        numIoThreads = Int(try read.int("num.io.threads", range: 1...256) ?? 0)
        try readLogDefaults(read)
        logCleanerEnable = try read.bool("log.cleaner.enable") ?? logCleanerEnable
        logCleanerBackoffMs = try read.int("log.cleaner.backoff.ms", range: 0...Int64.max) ?? logCleanerBackoffMs
        logCleanerDedupeBufferSize = Int(try read.int("log.cleaner.dedupe.buffer.size", range: 1 << 20...Int64(Int32.max) * 16)
                                         ?? Int64(logCleanerDedupeBufferSize))
        messageTimestampType = read.string("log.message.timestamp.type") ?? messageTimestampType
        guard ["CreateTime", "LogAppendTime"].contains(messageTimestampType) else {
            throw ConfigError(key: "log.message.timestamp.type", "must be CreateTime or LogAppendTime")
        }
        compressionType = read.string("compression.type") ?? compressionType
        brokerRack = read.string("broker.rack").flatMap { $0.isEmpty ? nil : $0 }
        replicaSelectorClass = read.string("replica.selector.class").flatMap { $0.isEmpty ? nil : $0 }
        if let selector = replicaSelectorClass, ![Self.rackAwareSelector, Self.leaderSelector].contains(selector) {
            throw ConfigError(key: "replica.selector.class", "\(selector) is not a known replica selector (\(Self.rackAwareSelector) or \(Self.leaderSelector))")
        }
        groups = try GroupConfig(read)
        transactions = try TransactionConfig(read)
        security = try SecurityConfig(read, listeners: listeners, controllerListenerNames: controllerListenerNames)
        staticProperties = Dictionary(properties.entries.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        unknownKeys = properties.keys.filter {
            !Self.knownKeys.contains($0) && !Self.acceptedKafkaKeys.contains($0) && !GroupConfig.keys.contains($0)
                && !TransactionConfig.keys.contains($0) && !SecurityConfig.isSecurityKey($0)
        }
        try validate()
    }

    private mutating func readLogDefaults(_ read: ConfigReader) throws {
        log.segmentBytes = Int(try read.int("log.segment.bytes", range: 14...Int64(Int32.max)) ?? Int64(log.segmentBytes))
        if let ms = try read.int("log.roll.ms", range: 1...Int64.max) { log.segmentMs = ms }
        else if let hours = try read.int("log.roll.hours", range: 1...Int64(Int32.max)) { log.segmentMs = hours * 3_600_000 }
        if let ms = try read.int("log.retention.ms", range: -1...Int64.max) { log.retentionMs = ms }
        else if let minutes = try read.int("log.retention.minutes", range: -1...Int64(Int32.max)) {
            log.retentionMs = minutes < 0 ? -1 : minutes * 60_000
        } else if let hours = try read.int("log.retention.hours", range: -1...Int64(Int32.max)) {
            log.retentionMs = hours < 0 ? -1 : hours * 3_600_000
        }
        log.retentionBytes = try read.int("log.retention.bytes", range: -1...Int64.max) ?? log.retentionBytes
        log.indexIntervalBytes = Int(try read.int("log.index.interval.bytes", range: 0...Int64(Int32.max))
                                     ?? Int64(log.indexIntervalBytes))
        log.flushMessages = try read.int("log.flush.interval.messages", range: 1...Int64.max) ?? log.flushMessages
        log.flushMs = try read.int("log.flush.interval.ms", range: 0...Int64.max) ?? log.flushMs
        log.maxMessageBytes = Int(try read.int("message.max.bytes", range: 0...Int64(Int32.max)) ?? Int64(log.maxMessageBytes))
        if let policy = read.string("log.cleanup.policy") {
            let items = policy.split(separator: ",", omittingEmptySubsequences: false).map { $0.filter { $0 != " " } }
            guard !items.isEmpty, items.allSatisfy({ $0 == "delete" || $0 == "compact" }) else {
                throw ConfigError(key: "log.cleanup.policy", "'\(policy)' must be delete, compact or compact,delete")
            }
            log.cleanupPolicy = policy
        }
        if let ratio = read.string("log.cleaner.min.cleanable.ratio") {
            guard let value = Double(ratio), value >= 0, value <= 1 else {
                throw ConfigError(key: "log.cleaner.min.cleanable.ratio", "'\(ratio)' must be a number from 0 to 1")
            }
            log.minCleanableDirtyRatio = value
        }
        log.minCompactionLagMs = try read.int("log.cleaner.min.compaction.lag.ms", range: 0...Int64.max) ?? log.minCompactionLagMs
        log.maxCompactionLagMs = try read.int("log.cleaner.max.compaction.lag.ms", range: 1...Int64.max) ?? log.maxCompactionLagMs
        log.deleteRetentionMs = try read.int("log.cleaner.delete.retention.ms", range: 0...Int64.max) ?? log.deleteRetentionMs
    }

    private func validate() throws {
        guard !listeners.isEmpty else { throw ConfigError(key: "listeners", "is empty") }
        if isBroker && clientListeners.isEmpty {
            throw ConfigError(key: "listeners", "a broker needs a listener not named in controller.listener.names")
        }
        if brokerHeartbeatIntervalMs >= brokerSessionTimeoutMs {
            throw ConfigError(key: "broker.heartbeat.interval.ms", "must be less than broker.session.timeout.ms")
        }
        // A follower waiting on an idle leader longer than the lag limit would fall out of the ISR while in sync.
        if Int64(replicaFetchWaitMaxMs) >= replicaLagTimeMaxMs {
            throw ConfigError(key: "replica.fetch.wait.max.ms", "must be less than replica.lag.time.max.ms")
        }
        if isController && !controllerQuorumVoters.isEmpty && !controllerQuorumVoters.contains(where: { $0.id == nodeId }) {
            throw ConfigError(key: "controller.quorum.voters", "does not include this controller's node.id \(nodeId)")
        }
    }

    static func parseVoter(_ text: String) throws -> (id: Int32, host: String, port: Int) {
        let key = "controller.quorum.voters"
        guard let at = text.firstIndex(of: "@"), let id = Int32(text[..<at]) else {
            throw ConfigError(key: key, "'\(text)' is not of the form id@host:port")
        }
        let listener = try Listener.parse("V://" + text[text.index(after: at)...], key: key)
        return (id, listener.host, listener.port)
    }

    static let knownKeys: Set<String> = [
        "node.id", "process.roles", "listeners", "advertised.listeners", "controller.listener.names",
        "controller.quorum.voters", "log.dirs", "log.dir", "metadata.log.dir", "num.partitions",
        "default.replication.factor", "min.insync.replicas", "unclean.leader.election.enable",
        "auto.create.topics.enable", "auto.leader.rebalance.enable", "leader.imbalance.check.interval.seconds",
        "leader.imbalance.per.broker.percentage", "log.segment.bytes", "log.roll.ms",
        "log.roll.hours", "log.retention.ms", "log.retention.minutes", "log.retention.hours", "log.retention.bytes",
        "log.retention.check.interval.ms", "crucible.metrics.port", "crucible.metrics.host", "log.index.interval.bytes", "log.flush.interval.messages",
        "log.flush.interval.ms", "replica.lag.time.max.ms", "replica.fetch.max.bytes",
        "replica.fetch.response.max.bytes", "replica.fetch.wait.max.ms", "message.max.bytes", "socket.request.max.bytes",
        "broker.session.timeout.ms", "broker.heartbeat.interval.ms", "num.io.threads", "log.message.timestamp.type",
        "compression.type", "log.cleanup.policy", "broker.rack", "replica.selector.class",
        "log.cleaner.enable", "log.cleaner.backoff.ms", "log.cleaner.dedupe.buffer.size", "log.cleaner.min.cleanable.ratio",
        "log.cleaner.min.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", "log.cleaner.delete.retention.ms",
    ]

    /// Kafka keys users commonly set that have no effect here; accepted without a warning.
    static let acceptedKafkaKeys: Set<String> = [
        "num.network.threads",
        "socket.send.buffer.bytes", "socket.receive.buffer.bytes", "num.recovery.threads.per.data.dir",
        "log.flush.scheduler.interval.ms",
        "delete.topic.enable", "num.replica.fetchers", "zookeeper.connect", "broker.id", "log.cleaner.threads",
        "log.cleaner.io.buffer.size", "log.cleaner.io.max.bytes.per.second",
    ]
}
