import CrucibleRaft  // SplitMix64

/// One operation of Jepsen's Kafka queue workload, as the generator hands it to a client process.
public enum QueueOperation: Sendable, Equatable {
    /// Append `value` (unique for its key) to the key's partition.
    case send(key: Int, value: Int)
    /// Read whatever the client's consumer returns next.
    case poll
    /// Tear the client down and build a new one (its producer and consumer lose all state).
    case crash
}

/// The queue workload's operations, drawn from a seed: which key each send goes to, sends against polls, and the
/// occasional client crash. Values count up per key from 0, so each is unique within its key. Pure: the same seed
/// gives the same sequence of operations.
public struct QueueGenerator: Sendable {
    private var random: SplitMix64
    private var nextValues: [Int]
    private let sendFraction: Double
    private let crashProbability: Double

    /// `crashIntervalSeconds` is the mean time between crashes over all processes at `rate` operations per
    /// second (0: never).
    public init(seed: UInt64, keys: Int, sendFraction: Double, rate: Double, crashIntervalSeconds: Double) {
        precondition(keys > 0)
        random = SplitMix64(seed: seed ^ 0x7175657565)
        nextValues = Array(repeating: 0, count: keys)
        self.sendFraction = sendFraction
        crashProbability = crashIntervalSeconds > 0 ? min(1, 1 / (crashIntervalSeconds * rate)) : 0
    }

    public mutating func next() -> QueueOperation {
        if crashProbability > 0 && random.chance(crashProbability) { return .crash }
        guard random.chance(sendFraction) else { return .poll }
        let key = Int(random.next() % UInt64(nextValues.count))
        defer { nextValues[key] += 1 }
        return .send(key: key, value: nextValues[key])
    }

    /// How many values each key has been given so far.
    public var valuesPerKey: [Int] { nextValues }
}
