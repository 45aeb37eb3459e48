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
    /// `cleanup.policy`: `delete`, `compact` or both. Compacted logs are cleaned by `LogCleaner`; time and size
    /// retention delete segments only when `delete` is among the policies.
    public var cleanupPolicy = "delete"
    /// `min.cleanable.dirty.ratio` (broker: `log.cleaner.min.cleanable.ratio`): clean once the uncleaned part is
    /// more than this share of the log.
    public var minCleanableDirtyRatio = 0.5
    /// `min.compaction.lag.ms` (broker: `log.cleaner.min.compaction.lag.ms`): records younger stay uncompacted.
    public var minCompactionLagMs: Int64 = 0
    /// `max.compaction.lag.ms` (broker: `log.cleaner.max.compaction.lag.ms`): records older are cleaned whatever
    /// the dirty ratio, and the active segment rolls at this age so they can be.
    public var maxCompactionLagMs: Int64 = .max
    /// `delete.retention.ms` (broker: `log.cleaner.delete.retention.ms`): how long a tombstone outlives the
    /// cleaning that first saw it.
    public var deleteRetentionMs: Int64 = 86_400_000

    public var compacts: Bool { policies.contains("compact") }
    public var deletes: Bool { policies.contains("delete") }
    /// The list items, blanks dropped ("compact, delete" is both); policy names hold no spaces.
    private var policies: [String] { cleanupPolicy.split(separator: ",").map { String($0.filter { $0 != " " }) } }

    public init() {}
}
