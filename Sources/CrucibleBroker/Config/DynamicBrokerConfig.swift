/// The broker keys Kafka lets `kafka-configs.sh --entity-type brokers` change at run time, per broker
/// (`--entity-name ID`) or cluster-wide (`--entity-default`), stored in the metadata log. The replication
/// throttles and the log defaults topics fall back to take effect at once; the rest are accepted and kept.
public enum DynamicBrokerConfig {
    /// Log defaults: a topic without its own value for the matching topic key uses these.
    static let logDefaults: Set<String> = [
        "log.segment.bytes", "log.roll.ms", "log.retention.ms", "log.retention.bytes", "log.index.interval.bytes",
        "log.flush.interval.messages", "log.flush.interval.ms", "message.max.bytes", "log.cleanup.policy",
        "log.message.timestamp.type", "compression.type", "min.insync.replicas", "unclean.leader.election.enable",
        "log.cleaner.min.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", "log.cleaner.delete.retention.ms",
        "log.cleaner.min.cleanable.ratio",
    ]
    /// Bytes per second; Kafka's default is unlimited (Long.MAX_VALUE).
    static let rates: Set<String> = [
        "leader.replication.throttled.rate", "follower.replication.throttled.rate",
        "replica.alter.log.dirs.io.max.bytes.per.second",
    ]
    /// Accepted and stored, with no effect here (thread pools, cleaner tuning, listener settings).
    static let accepted: Set<String> = [
        "num.io.threads", "num.network.threads", "num.replica.fetchers", "num.recovery.threads.per.data.dir",
        "background.threads", "log.cleaner.threads", "log.cleaner.dedupe.buffer.size", "log.cleaner.io.buffer.size",
        "log.cleaner.io.max.bytes.per.second", "log.cleaner.backoff.ms", "log.preallocate", "log.segment.delete.delay.ms", "max.connections", "max.connections.per.ip",
        "max.connection.creation.rate", "log.message.timestamp.before.max.ms", "log.message.timestamp.after.max.ms",
    ]

    public static var keys: Set<String> { logDefaults.union(rates).union(accepted) }

    /// Kafka's check for one dynamic value: unknown or static keys are refused naming the key, and values get the
    /// same validation the key has in server.properties.
    public static func validate(key: String, value: String) throws {
        guard keys.contains(key) else {
            throw ConfigError(key: key, "is not a dynamic broker config (it can only be set in server.properties)")
        }
        if rates.contains(key) {
            guard let rate = Int64(value.trimmingSpaces), rate >= 0 else { throw ConfigError(key: key, "'\(value)' must be a rate in bytes/s, at least 0") }
            return
        }
        if logDefaults.contains(key) {
            var properties = Properties()
            properties.set(key, value)
            _ = try BrokerConfig(properties)
            return
        }
        guard !value.isEmpty else { throw ConfigError(key: key, "must not be empty") }
    }
}

extension BrokerConfig {
    /// This config with the dynamic log defaults of `dynamic` (cluster-wide ones first, then this broker's).
    public func overlaid(with dynamic: [String: String]) -> BrokerConfig {
        let keys = dynamic.keys.filter { DynamicBrokerConfig.logDefaults.contains($0) }
        guard !keys.isEmpty else { return self }
        var properties = Properties()
        for key in keys { properties.set(key, dynamic[key]!) }
        guard let parsed = try? BrokerConfig(properties) else { return self }
        var merged = self
        for key in keys {
            switch key {
            case "log.segment.bytes": merged.log.segmentBytes = parsed.log.segmentBytes
            case "log.roll.ms": merged.log.segmentMs = parsed.log.segmentMs
            case "log.retention.ms": merged.log.retentionMs = parsed.log.retentionMs
            case "log.retention.bytes": merged.log.retentionBytes = parsed.log.retentionBytes
            case "log.index.interval.bytes": merged.log.indexIntervalBytes = parsed.log.indexIntervalBytes
            case "log.flush.interval.messages": merged.log.flushMessages = parsed.log.flushMessages
            case "log.flush.interval.ms": merged.log.flushMs = parsed.log.flushMs
            case "message.max.bytes": merged.log.maxMessageBytes = parsed.log.maxMessageBytes
            case "log.cleanup.policy": merged.log.cleanupPolicy = parsed.log.cleanupPolicy
            case "log.message.timestamp.type": merged.messageTimestampType = parsed.messageTimestampType
            case "compression.type": merged.compressionType = parsed.compressionType
            case "min.insync.replicas": merged.minInsyncReplicas = parsed.minInsyncReplicas
            case "unclean.leader.election.enable": merged.uncleanLeaderElectionEnable = parsed.uncleanLeaderElectionEnable
            case "log.cleaner.min.compaction.lag.ms": merged.log.minCompactionLagMs = parsed.log.minCompactionLagMs
            case "log.cleaner.max.compaction.lag.ms": merged.log.maxCompactionLagMs = parsed.log.maxCompactionLagMs
            case "log.cleaner.delete.retention.ms": merged.log.deleteRetentionMs = parsed.log.deleteRetentionMs
            case "log.cleaner.min.cleanable.ratio": merged.log.minCleanableDirtyRatio = parsed.log.minCleanableDirtyRatio
            default: break
            }
        }
        return merged
    }
}
