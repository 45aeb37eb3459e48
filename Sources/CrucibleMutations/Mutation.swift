import Foundation

/// Broker bugs planted on purpose, so the verification scenarios can show which of them they catch.
///
/// The bugs exist only in a build compiled with `-Xswiftc -DCRUCIBLE_MUTATIONS` (`Scripts/mutations.sh` makes
/// one in a scratch directory of its own); the normal build has the names below and none of the behaviour. A node
/// of that build runs with the one mutation its `CRUCIBLE_MUTATION` environment variable names, which
/// `crucible verify --mutation NAME` sets for the nodes it starts.
public enum Mutation: String, CaseIterable, Sendable {
    case ackBeforeReplication = "ack-before-replication"
    case highWatermarkPastIsr = "high-watermark-past-isr"
    case skipDivergenceTruncation = "skip-divergence-truncation"
    case electOutOfSyncReplica = "elect-out-of-sync-replica"
    case forgetProducerStateOnRestart = "forget-producer-state-on-restart"
    case readPastHighWatermark = "read-past-high-watermark"
    case reuseOffsetsAfterTruncation = "reuse-offsets-after-truncation"
    case dropBatchOnRoll = "drop-batch-on-roll"
    case acceptDuplicateSequences = "accept-duplicate-sequences"
    case isrAdmitsLaggingFollower = "isr-admits-lagging-follower"
    case lsoIgnoresOpenTransactions = "lso-ignores-open-transactions"
    case noAbortedTransactionsInFetch = "no-aborted-transactions-in-fetch"

    /// What the planted bug does, for the mutation table.
    public var summary: String {
        switch self {
        case .ackBeforeReplication: "acks=all is answered once the leader has appended, before any follower has the write"
        case .highWatermarkPastIsr: "the high watermark follows the leader's log end, ignoring the followers in the ISR"
        case .skipDivergenceTruncation: "followers never send their last fetched epoch, so a diverged suffix is kept"
        case .electOutOfSyncReplica: "a leader leaving is replaced by the first live replica, in sync or not"
        case .forgetProducerStateOnRestart: "a restarted node starts with no idempotent-producer state"
        case .readPastHighWatermark: "consumers are served up to the log end, past the high watermark"
        case .reuseOffsetsAfterTruncation: "a new leader truncates to its own high watermark and hands those offsets out again"
        case .dropBatchOnRoll: "the batch that rolls a segment is acknowledged but never written"
        case .acceptDuplicateSequences: "a producer's retried batch is appended again instead of answered as a duplicate"
        case .isrAdmitsLaggingFollower: "a follower joins the ISR on its first fetch, however far behind"
        case .lsoIgnoresOpenTransactions: "read_committed consumers are served up to the high watermark, open transactions included"
        case .noAbortedTransactionsInFetch: "read_committed fetches list no aborted transactions, so consumers keep aborted data"
        }
    }

    /// The environment variable a node reads its mutation from.
    public static let environmentKey = "CRUCIBLE_MUTATION"

    /// How to make a build that carries the mutations.
    public static let buildCommand = "swift build -c release -Xswiftc -DCRUCIBLE_MUTATIONS --scratch-path .build-mutations"

    /// Whether this build carries the planted bugs.
    public static var compiledIn: Bool {
        #if CRUCIBLE_MUTATIONS
        true
        #else
        false
        #endif
    }

    #if CRUCIBLE_MUTATIONS
    /// The mutation this process runs with, if any (read once).
    public static let active: Mutation? = ProcessInfo.processInfo.environment[environmentKey]
        .flatMap(Mutation.init(rawValue:))

    /// Whether this planted bug is the one switched on.
    public var isActive: Bool { Mutation.active == self }
    #else
    @inlinable public static var active: Mutation? { nil }

    /// Always false: a normal build never reads the environment, and the optimiser drops the planted branches.
    @inlinable public var isActive: Bool { false }
    #endif
}
