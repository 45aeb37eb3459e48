// Linearizability of a history, partition by partition (P-compositionality: a history is linearizable
// iff each key's sub-history is), for any LinearizabilityModel.

public struct Partition<Input, Output> {
    public var key: Value
    public var operations: [ModelOperation<Input, Output>]
    public init(key: Value, operations: [ModelOperation<Input, Output>]) {
        self.key = key
        self.operations = operations
    }
}

public enum LinearizabilityChecker {
    /// Search steps per partition once some partition has failed.
    static let afterFailureSteps = 200_000

    public static func check<M: LinearizabilityModel>(model: M, partitions: [Partition<M.Input, M.Output>],
                                                      name: String, budget: SearchBudget = SearchBudget()) -> Analysis {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = budget.timeLimit.map { start + $0 }
        var failures: [(partition: Partition<M.Input, M.Output>, prefix: [Int], blocking: Int?)] = []
        var undecided: [Value] = []
        var totalSteps = 0
        // Smallest partitions first: the first failure found is then the smallest failing key, and once
        // the verdict is known the rest need only a short look (like Porcupine, which stops at the first
        // failure), so one pathological key cannot hold an invalid verdict hostage.
        let ordered = partitions.sorted { ($0.operations.count, $0.key.description) < ($1.operations.count, $1.key.description) }
        for partition in ordered {
            var limit = budget
            if !failures.isEmpty { limit.maxSteps = min(budget.maxSteps ?? Int.max, afterFailureSteps) }
            switch LinearizabilitySearch.check(model, partition.operations, budget: limit, deadline: deadline) {
            case .linearizable: continue
            case .unknown(let steps):
                totalSteps += steps
                undecided.append(partition.key)
            case .notLinearizable(let prefix, let blocking, let steps):
                totalSteps += steps
                failures.append((partition, prefix, blocking))
            }
        }
        let anomalies = failures.map { failure -> Anomaly in
            let ops = failure.partition.operations
            let prefix = failure.prefix.map { ops[$0].index }
            var details: [(String, Value)] = [
                ("partition-operations", .int(ops.count)),
                ("longest-linearizable-prefix", .vector(prefix.map(Value.int))),
                ("longest-linearizable-prefix-text", .vector(failure.prefix.map { .string(model.describe(ops[$0].input, ops[$0].output)) })),
            ]
            var witnessOps = Array(prefix.suffix(8))
            if let b = failure.blocking {
                details.append(("cannot-linearize", .int(ops[b].index)))
                details.append(("cannot-linearize-text", .string(model.describe(ops[b].input, ops[b].output))))
                witnessOps.append(ops[b].index)
            }
            return Anomaly(type: "nonlinearizable", key: failure.partition.key, ops: witnessOps, details: details)
        }
        let validity: Validity = !failures.isEmpty ? .invalid : (undecided.isEmpty ? .valid : .unknown)
        var stats: [(String, Value)] = [
            ("partitions", .int(partitions.count)),
            ("operations", .int(partitions.reduce(0) { $0 + $1.operations.count })),
            ("failing-keys", .vector(failures.map(\.partition.key))),
            ("unknown-keys", .vector(undecided)),
            ("search-steps", .int(totalSteps)),
        ]
        if let smallest = failures.first { stats.append(("smallest-failing-key", smallest.partition.key)) }
        return Analysis(checker: name, validity: validity, anomalies: anomalies, stats: stats)
    }
}
