/// The per-log settings storage acts on, named after Kafka's topic-level keys.
public struct LogConfig: Equatable, Sendable {
    /// `segment.bytes` (broker: `log.segment.bytes`).
    public var segmentBytes = 1 << 30
    /// `segment.ms` (broker: `log.roll.ms` / `log.roll.hours`).
    public var segmentMs: Int64 = 7 * 24 * 3_600_000
    /// `retention.ms`; -1 keeps forever.
    public var retentionMs: Int64 = 7 * 24 * 3_600_000
    /// `retention.bytes`; -1 means no size limit.
    public var retentionBytes: Int64 = -1
    /// `index.interval.bytes` (broker: `log.index.interval.bytes`).
    public var indexIntervalBytes = 4096
    /// `flush.messages`; Int64.max leaves flushing to the page cache, as Kafka does by default.
    public var flushMessages: Int64 = .max
    /// `flush.ms`.
    public var flushMs: Int64 = .max
    /// `max.message.bytes`: the largest batch accepted.
    public var maxMessageBytes = 1_048_588
    /// `cleanup.policy` (delete or compact; compaction is not implemented yet, so compact logs keep everything).
    public var cleanupPolicy = "delete"

    public init() {}
}
