import CrucibleRaft  // SplitMix64

/// One operation of Jepsen's Kafka queue workload, as the generator hands it to a client process.
public enum QueueOperation: Sendable, Equatable {
    /// Append `value` (unique for its key) to the key's partition.
    case send(key: Int, value: Int)
    /// Read whatever the client's consumer returns next.
    case poll
    /// Sends and polls in one transaction of the client's transactional producer, committed, or aborted on
    /// purpose when `abort` (the workload's `abortFraction`).
    case txn([TxnStep], abort: Bool)
    /// Tear the client down and build a new one (its producer and consumer lose all state).
    case crash
}

/// A micro-operation of a transaction.
public enum TxnStep: Sendable, Equatable {
    case send(key: Int, value: Int)
    case poll
}

/// The queue workload's operations, drawn from a seed: which key each send goes to, sends against polls, the
/// occasional client crash, and in the transactional form transactions of 1 to `maxTxnLength` steps (Jepsen's
/// `max-txn-length`). Values count up per key from 0, so each is unique within its key. Pure: the same seed gives
/// the same sequence of operations.
public struct QueueGenerator: Sendable {
    private var random: SplitMix64
    private var nextValues: [Int]
    private let sendFraction: Double
    private let crashProbability: Double
    private let transactions: Transactions?

    /// The transactional form's shape: transactions of up to `maxLength` steps, `abortFraction` of them aborted.
    public struct Transactions: Sendable, Equatable {
        public var maxLength: Int
        public var abortFraction: Double
        public init(maxLength: Int, abortFraction: Double) {
            precondition(maxLength > 0)
            self.maxLength = maxLength
            self.abortFraction = abortFraction
        }
    }

    /// `crashIntervalSeconds` is the mean time between crashes over all processes at `rate` operations per
    /// second (0: never).
    public init(seed: UInt64, keys: Int, sendFraction: Double, rate: Double, crashIntervalSeconds: Double,
                transactions: Transactions? = nil) {
        precondition(keys > 0)
        random = SplitMix64(seed: seed ^ 0x7175657565)
        nextValues = Array(repeating: 0, count: keys)
        self.sendFraction = sendFraction
        crashProbability = crashIntervalSeconds > 0 ? min(1, 1 / (crashIntervalSeconds * rate)) : 0
        self.transactions = transactions
    }

    public mutating func next() -> QueueOperation {
        if crashProbability > 0 && random.chance(crashProbability) { return .crash }
        guard let transactions else {
            if case .send(let key, let value) = step() { return .send(key: key, value: value) }
            return .poll
        }
        let length = 1 + Int(random.next() % UInt64(transactions.maxLength))
        let steps = (0..<length).map { _ in step() }
        return .txn(steps, abort: transactions.abortFraction > 0 && random.chance(transactions.abortFraction))
    }

    private mutating func step() -> TxnStep {
        guard random.chance(sendFraction) else { return .poll }
        let key = Int(random.next() % UInt64(nextValues.count))
        defer { nextValues[key] += 1 }
        return .send(key: key, value: nextValues[key])
    }

    /// How many values each key has been given so far.
    public var valuesPerKey: [Int] { nextValues }
}
