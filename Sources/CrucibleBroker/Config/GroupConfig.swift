import CrucibleGroups

/// The group coordinator's and `__consumer_offsets`' keys, with Kafka's defaults.
public struct GroupConfig: Sendable, Equatable {
    /// `offsets.topic.num.partitions`.
    public var offsetsTopicPartitions: Int32 = 50
    /// `offsets.topic.replication.factor`; capped by the brokers there are when the topic is created.
    public var offsetsTopicReplicationFactor: Int16 = 3
    /// `offsets.topic.segment.bytes`.
    public var offsetsTopicSegmentBytes: Int64 = 104_857_600
    /// `offsets.commit.timeout.ms`: how long a commit waits for the replicas.
    public var offsetsCommitTimeoutMs: Int64 = 5_000
    /// `offsets.retention.check.interval.ms`.
    public var offsetsRetentionCheckIntervalMs: Int64 = 600_000
    public var coordinator = GroupSettings()

    public init() {}

    init(_ read: ConfigReader) throws {
        offsetsTopicPartitions = Int32(try read.int("offsets.topic.num.partitions", range: 1...100_000)
                                       ?? Int64(offsetsTopicPartitions))
        offsetsTopicReplicationFactor = Int16(try read.int("offsets.topic.replication.factor", range: 1...32_767)
                                              ?? Int64(offsetsTopicReplicationFactor))
        offsetsTopicSegmentBytes = try read.int("offsets.topic.segment.bytes", range: 14...Int64(Int32.max))
            ?? offsetsTopicSegmentBytes
        offsetsCommitTimeoutMs = try read.int("offsets.commit.timeout.ms", range: 1...Int64(Int32.max)) ?? offsetsCommitTimeoutMs
        offsetsRetentionCheckIntervalMs = try read.int("offsets.retention.check.interval.ms", range: 1...Int64.max)
            ?? offsetsRetentionCheckIntervalMs
        if let minutes = try read.int("offsets.retention.minutes", range: 1...Int64(Int32.max)) {
            coordinator.offsetsRetentionMs = minutes * 60_000
        }
        coordinator.minSessionTimeoutMs = Int32(try read.int("group.min.session.timeout.ms", range: 0...Int64(Int32.max))
                                                ?? Int64(coordinator.minSessionTimeoutMs))
        coordinator.maxSessionTimeoutMs = Int32(try read.int("group.max.session.timeout.ms", range: 0...Int64(Int32.max))
                                                ?? Int64(coordinator.maxSessionTimeoutMs))
        coordinator.initialRebalanceDelayMs = try read.int("group.initial.rebalance.delay.ms", range: 0...Int64(Int32.max))
            ?? coordinator.initialRebalanceDelayMs
        coordinator.maxSize = Int(try read.int("group.max.size", range: 1...Int64(Int32.max)) ?? Int64(Int32.max))
        coordinator.offsetMetadataMaxBytes = Int(try read.int("offset.metadata.max.bytes", range: 0...Int64(Int32.max))
                                                 ?? Int64(coordinator.offsetMetadataMaxBytes))
        guard coordinator.minSessionTimeoutMs <= coordinator.maxSessionTimeoutMs else {
            throw ConfigError(key: "group.min.session.timeout.ms", "must not exceed group.max.session.timeout.ms")
        }
    }

    static let keys: Set<String> = [
        "offsets.topic.num.partitions", "offsets.topic.replication.factor", "offsets.topic.segment.bytes",
        "offsets.commit.timeout.ms", "offsets.retention.check.interval.ms", "offsets.retention.minutes",
        "group.min.session.timeout.ms", "group.max.session.timeout.ms", "group.initial.rebalance.delay.ms",
        "group.max.size", "offset.metadata.max.bytes",
    ]
}
