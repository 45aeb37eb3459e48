import CrucibleStorage

/// Topic-level configs (CreateTopics `configs`, `configs --alter`) over the broker's defaults: what the log and
/// the partition act on. Only the keys set on the topic are stored; the effective value falls back to the
/// broker. `TopicConfigCatalog` knows every key Kafka accepts.
public struct TopicConfig: Equatable, Sendable {
    public var overrides: [String: String] = [:]

    public init(_ overrides: [String: String] = [:]) {
        self.overrides = overrides
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
        if let v = overrides["min.cleanable.dirty.ratio"].flatMap({ Double($0) }) { log.minCleanableDirtyRatio = v }
        if let v = int("min.compaction.lag.ms") { log.minCompactionLagMs = v }
        if let v = int("max.compaction.lag.ms") { log.maxCompactionLagMs = v }
        if let v = int("delete.retention.ms") { log.deleteRetentionMs = v }
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
}
