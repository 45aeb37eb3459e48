import CrucibleStorage

/// Topic-level configs (CreateTopics `configs`, `configs --alter`) over the broker's defaults. Only the keys
/// set on the topic are stored; the effective value falls back to the broker.
public struct TopicConfig: Equatable, Sendable {
    public var overrides: [String: String] = [:]

    public init(_ overrides: [String: String] = [:]) {
        self.overrides = overrides
    }

    /// Topic key -> the broker key that supplies its default.
    public static let brokerDefaults: [String: String] = [
        "segment.bytes": "log.segment.bytes", "segment.ms": "log.roll.ms", "retention.ms": "log.retention.ms",
        "retention.bytes": "log.retention.bytes", "index.interval.bytes": "log.index.interval.bytes",
        "flush.messages": "log.flush.interval.messages", "flush.ms": "log.flush.interval.ms",
        "max.message.bytes": "message.max.bytes", "cleanup.policy": "log.cleanup.policy",
        "min.insync.replicas": "min.insync.replicas",
        "unclean.leader.election.enable": "unclean.leader.election.enable",
        "message.timestamp.type": "log.message.timestamp.type", "compression.type": "compression.type",
    ]

    /// Checks one key/value as Kafka would on CreateTopics/AlterConfigs; the error names the key.
    public static func validate(key: String, value: String) throws {
        guard brokerDefaults[key] != nil else { throw ConfigError(key: key, "unknown topic config") }
        switch key {
        case "cleanup.policy":
            let parts = value.split(separator: ",").map { $0.trimmingCharacters(in: " ") }
            guard !parts.isEmpty, parts.allSatisfy({ $0 == "delete" || $0 == "compact" }) else {
                throw ConfigError(key: key, "'\(value)' must be delete, compact or both")
            }
        case "unclean.leader.election.enable":
            guard value == "true" || value == "false" else { throw ConfigError(key: key, "'\(value)' is not a boolean") }
        case "message.timestamp.type":
            guard value == "CreateTime" || value == "LogAppendTime" else {
                throw ConfigError(key: key, "must be CreateTime or LogAppendTime")
            }
        case "compression.type":
            guard ["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"].contains(value) else {
                throw ConfigError(key: key, "'\(value)' is not a compression type")
            }
        default:
            guard let number = Int64(value) else { throw ConfigError(key: key, "'\(value)' is not an integer") }
            let minimum: Int64 = ["retention.ms", "retention.bytes"].contains(key) ? -1
                : key == "segment.bytes" ? 14 : key == "min.insync.replicas" ? 1 : 0
            guard number >= minimum else { throw ConfigError(key: key, "\(number) is below \(minimum)") }
        }
    }

    public func logConfig(defaults broker: BrokerConfig) -> LogConfig {
        var log = broker.log
        func int(_ key: String) -> Int64? { overrides[key].flatMap { Int64($0) } }
        if let v = int("segment.bytes") { log.segmentBytes = Int(v) }
        if let v = int("segment.ms") { log.segmentMs = v }
        if let v = int("retention.ms") { log.retentionMs = v }
        if let v = int("retention.bytes") { log.retentionBytes = v }
        if let v = int("index.interval.bytes") { log.indexIntervalBytes = Int(v) }
        if let v = int("flush.messages") { log.flushMessages = v }
        if let v = int("flush.ms") { log.flushMs = v }
        if let v = int("max.message.bytes") { log.maxMessageBytes = Int(v) }
        if let v = overrides["cleanup.policy"] { log.cleanupPolicy = v }
        return log
    }

    public func minInsyncReplicas(defaults broker: BrokerConfig) -> Int32 {
        overrides["min.insync.replicas"].flatMap { Int32($0) } ?? broker.minInsyncReplicas
    }

    public func uncleanLeaderElection(defaults broker: BrokerConfig) -> Bool {
        overrides["unclean.leader.election.enable"].map { $0 == "true" } ?? broker.uncleanLeaderElectionEnable
    }

    public func logAppendTime(defaults broker: BrokerConfig) -> Bool {
        (overrides["message.timestamp.type"] ?? broker.messageTimestampType) == "LogAppendTime"
    }

    /// Every topic config with its effective value and whether it is the broker default (DescribeConfigs).
    public func described(defaults broker: BrokerConfig) -> [(key: String, value: String, isDefault: Bool)] {
        let log = logConfig(defaults: broker)
        let effective: [String: String] = [
            "segment.bytes": String(log.segmentBytes), "segment.ms": String(log.segmentMs),
            "retention.ms": String(log.retentionMs), "retention.bytes": String(log.retentionBytes),
            "index.interval.bytes": String(log.indexIntervalBytes),
            "flush.messages": String(log.flushMessages), "flush.ms": String(log.flushMs),
            "max.message.bytes": String(log.maxMessageBytes), "cleanup.policy": log.cleanupPolicy,
            "min.insync.replicas": String(minInsyncReplicas(defaults: broker)),
            "unclean.leader.election.enable": String(uncleanLeaderElection(defaults: broker)),
            "message.timestamp.type": overrides["message.timestamp.type"] ?? broker.messageTimestampType,
            "compression.type": overrides["compression.type"] ?? broker.compressionType,
        ]
        return effective.keys.sorted().map { ($0, effective[$0]!, overrides[$0] == nil) }
    }
}

private extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
