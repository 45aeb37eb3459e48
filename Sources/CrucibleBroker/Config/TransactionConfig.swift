import CrucibleTransactions

/// The transaction coordinator's and `__transaction_state`'s keys, with Kafka's defaults.
public struct TransactionConfig: Sendable, Equatable {
    /// `transaction.state.log.num.partitions`.
    public var logPartitions: Int32 = 50
    /// `transaction.state.log.replication.factor`; capped by the brokers there are when the topic is created.
    public var logReplicationFactor: Int16 = 3
    /// `transaction.state.log.min.isr`; capped by the replication factor.
    public var logMinIsr: Int32 = 2
    /// `transaction.state.log.segment.bytes`.
    public var logSegmentBytes: Int64 = 104_857_600
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often open transactions are checked
    /// against their timeout.
    public var abortTimedOutIntervalMs: Int64 = 10_000
    /// `transaction.partition.verification.enable` (KIP-890): leaders verify a producer's first transactional
    /// write to a partition with its coordinator.
    public var partitionVerification = true
    public var coordinator = TxnSettings()

    public init() {}

    public static func == (a: TransactionConfig, b: TransactionConfig) -> Bool {
        (a.logPartitions, a.logReplicationFactor, a.logMinIsr, a.logSegmentBytes, a.abortTimedOutIntervalMs, a.partitionVerification)
            == (b.logPartitions, b.logReplicationFactor, b.logMinIsr, b.logSegmentBytes, b.abortTimedOutIntervalMs, b.partitionVerification)
            && (a.coordinator.maxTimeoutMs, a.coordinator.idExpirationMs) == (b.coordinator.maxTimeoutMs, b.coordinator.idExpirationMs)
    }

    init(_ read: ConfigReader) throws {
        logPartitions = Int32(try read.int("transaction.state.log.num.partitions", range: 1...100_000) ?? Int64(logPartitions))
        logReplicationFactor = Int16(try read.int("transaction.state.log.replication.factor", range: 1...32_767)
                                     ?? Int64(logReplicationFactor))
        logMinIsr = Int32(try read.int("transaction.state.log.min.isr", range: 1...32_767) ?? Int64(logMinIsr))
        logSegmentBytes = try read.int("transaction.state.log.segment.bytes", range: 14...Int64(Int32.max)) ?? logSegmentBytes
        abortTimedOutIntervalMs = try read.int("transaction.abort.timed.out.transaction.cleanup.interval.ms",
                                               range: 1...Int64(Int32.max)) ?? abortTimedOutIntervalMs
        partitionVerification = try read.bool("transaction.partition.verification.enable") ?? partitionVerification
        coordinator.maxTimeoutMs = Int32(try read.int("transaction.max.timeout.ms", range: 1...Int64(Int32.max))
                                         ?? Int64(coordinator.maxTimeoutMs))
        coordinator.idExpirationMs = try read.int("transactional.id.expiration.ms", range: 1...Int64(Int32.max))
            ?? coordinator.idExpirationMs
    }

    static let keys: Set<String> = [
        "transaction.state.log.num.partitions", "transaction.state.log.replication.factor", "transaction.state.log.min.isr",
        "transaction.state.log.segment.bytes", "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        "transaction.max.timeout.ms", "transactional.id.expiration.ms", "transaction.partition.verification.enable",
    ]
}
