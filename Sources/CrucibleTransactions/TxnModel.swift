import CrucibleGroups
import CrucibleProtocol

/// A transactional id's state, with Kafka's numbering (the status byte in `__transaction_state`) and the names
/// DescribeTransactions and ListTransactions report.
public enum TxnState: Int8, Sendable, CaseIterable {
    case empty = 0
    case ongoing = 1
    case prepareCommit = 2
    case prepareAbort = 3
    case completeCommit = 4
    case completeAbort = 5
    case dead = 6
    case prepareEpochFence = 7

    public var name: String {
        switch self {
        case .empty: "Empty"
        case .ongoing: "Ongoing"
        case .prepareCommit: "PrepareCommit"
        case .prepareAbort: "PrepareAbort"
        case .completeCommit: "CompleteCommit"
        case .completeAbort: "CompleteAbort"
        case .dead: "Dead"
        case .prepareEpochFence: "PrepareEpochFence"
        }
    }

    /// No transaction in progress: the producer may begin one, or be given a new epoch.
    var isIdle: Bool { self == .empty || self == .completeCommit || self == .completeAbort }
    var isPreparing: Bool { self == .prepareCommit || self == .prepareAbort }
}

/// What the coordinator knows of one transactional id.
public struct TransactionMetadata: Sendable, Equatable {
    public var transactionalId: String
    public var producerId: Int64
    public var producerEpoch: Int16
    /// The id and epoch before the last InitProducerId, so a retry of that call gets the same answer (KIP-360).
    public var lastProducerId: Int64 = -1
    public var lastProducerEpoch: Int16 = -1
    public var timeoutMs: Int32
    public var state: TxnState
    public var partitions: Set<TopicPartitionKey> = []
    /// When the transaction in progress began (-1 when none has).
    public var startMs: Int64 = -1
    public var lastUpdateMs: Int64

    public var value: TransactionLogValue {
        TransactionLogValue(producerId: producerId, producerEpoch: producerEpoch, timeoutMs: timeoutMs, state: state,
                            partitions: partitions.sorted(), lastUpdateMs: lastUpdateMs, startMs: startMs)
    }

    init(transactionalId: String, value: TransactionLogValue) {
        self.transactionalId = transactionalId
        producerId = value.producerId
        producerEpoch = value.producerEpoch
        timeoutMs = value.timeoutMs
        state = value.state
        partitions = Set(value.partitions)
        startMs = value.startMs
        lastUpdateMs = value.lastUpdateMs
    }

    init(transactionalId: String, producerId: Int64, producerEpoch: Int16, timeoutMs: Int32, state: TxnState, nowMs: Int64) {
        self.transactionalId = transactionalId
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.timeoutMs = timeoutMs
        self.state = state
        lastUpdateMs = nowMs
    }
}

/// Kafka's transaction coordinator settings, with its defaults.
public struct TxnSettings: Sendable {
    /// `transaction.max.timeout.ms`: the longest `transaction.timeout.ms` a producer may ask for.
    public var maxTimeoutMs: Int32 = 900_000
    /// `transactional.id.expiration.ms`: an idle id is forgotten after this long.
    public var idExpirationMs: Int64 = 604_800_000
    /// The last epoch handed out before a producer gets a new id.
    public var maxEpoch: Int16 = Int16.max - 1
    /// A bug the simulation plants to prove its invariants catch it; nil in the broker.
    public var plantedBug: TxnPlantedBug?

    public init() {}
}

/// Bugs the simulation must catch, each breaking one rule the coordinator lives by.
public enum TxnPlantedBug: String, Sendable, CaseIterable {
    /// Writes Complete* as soon as the markers are sent, before every partition has acknowledged one.
    case completeBeforeMarkers
    /// Sends the markers as soon as Prepare* is appended, before it is durable.
    case markersBeforePrepareDurable
    /// InitProducerId on an id with a transaction in progress gives a new epoch without aborting it.
    case noAbortOnInit
    /// Requests from an older epoch are served as if current.
    case acceptStaleEpoch
}

/// Markers to write: one producer's transaction ended with `commit` or not, on every partition it touched.
public struct MarkerJob: Sendable, Equatable {
    public var transactionalId: String
    public var producerId: Int64
    public var producerEpoch: Int16
    public var commit: Bool
    public var coordinatorEpoch: Int32
    public var partitions: [TopicPartitionKey]

    public init(transactionalId: String, producerId: Int64, producerEpoch: Int16, commit: Bool, coordinatorEpoch: Int32,
                partitions: [TopicPartitionKey]) {
        self.transactionalId = transactionalId
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.commit = commit
        self.coordinatorEpoch = coordinatorEpoch
        self.partitions = partitions
    }
}

/// Stands for a request waiting for its answer; the shell maps it back to the connection.
public struct TxnToken: Hashable, Sendable {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }
}

public enum TxnReply: Sendable, Equatable {
    case initProducerId(ErrorCode, producerId: Int64, producerEpoch: Int16)
    /// AddPartitionsToTxn and AddOffsetsToTxn: one code for every partition asked for.
    case addPartitions(ErrorCode)
    case endTxn(ErrorCode)
}

/// What the coordinator asks of its shell.
public enum TxnEffect: Sendable, Equatable {
    case reply(TxnToken, TxnReply)
    /// Append to this coordinator's `__transaction_state` partition, acks=all; report through `writeCompleted`.
    case append(writeId: UInt64, TransactionLogRecord)
    /// Have every partition's leader write the marker; report through `markersWritten` once all have.
    case sendMarkers(MarkerJob)
    case note(String)
}
