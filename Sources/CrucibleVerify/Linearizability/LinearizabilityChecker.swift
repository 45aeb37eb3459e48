// Linearizability of a history, partition by partition (P-compositionality: a history is linearizable
// iff each key's sub-history is), for any LinearizabilityModel.
import Foundation

public struct Partition<Input, Output> {
    public var key: Value
    public var operations: [ModelOperation<Input, Output>]
    public init(key: Value, operations: [ModelOperation<Input, Output>]) {
        self.key = key
        self.operations = operations
    }
}

public enum LinearizabilityChecker {
    /// One model for every partition (a model without state of its own, such as the register).
    public static func check<M: LinearizabilityModel>(model: M, partitions: [Partition<M.Input, M.Output>],
                                                      name: String, budget: SearchBudget = SearchBudget()) -> Analysis {
        check(partitions.map { (model, $0) }, name: name, budget: budget)
    }

    /// Each partition with its own model. Partitions are searched smallest first, on every core at once. Unless
    /// `budget.allKeys`, the first failing key decides: it is the smallest failing one (every smaller key was
    /// started before it and finishes), its longest linearizable prefix is the witness, and keys after it are not
    /// searched, as Porcupine stops at its first failure, so one pathological key cannot hold a verdict that is
    /// already known hostage (searches after it are abandoned once it fails). Results after the first failure are
    /// set aside whatever finished, so the answer is the same on any number of cores.
    public static func check<M: LinearizabilityModel>(_ partitions: [(model: M, partition: Partition<M.Input, M.Output>)],
                                                      name: String, budget: SearchBudget = SearchBudget()) -> Analysis {
        let deadline = budget.timeLimit.map { ContinuousClock.now + $0 }
        // Each key's text made once, not at every comparison (it is a fresh string each time).
        let ordered = partitions.map { ($0, $0.partition.operations.count, $0.partition.key.description) }
            .sorted { ($0.1, $0.2) < ($1.1, $1.2) }.map(\.0)
        let outcomes = ResultSlots<PartitionOutcome>(count: ordered.count)
        let next = NextIndex()
        // The first failing partition in search order; any search after it is abandoned as soon as it is known.
        let firstFailure = SharedMinimum()
        nonisolated(unsafe) let work = ordered
        // Small histories are searched faster on one thread than other threads can be woken for them.
        let operations = ordered.reduce(0) { $0 + $1.partition.operations.count }
        let threads = operations < 1_000 ? 1 : min(ProcessInfo.processInfo.activeProcessorCount, ordered.count)
        let search: @Sendable (Int) -> Void = { _ in
            while let i = next.take(below: work.count) {
                let superseded = { !budget.allKeys && firstFailure.value < i }
                if superseded() { return }
                let outcome = LinearizabilitySearch.check(work[i].model, work[i].partition.operations, budget: budget,
                                                          deadline: deadline, abandon: superseded)
                outcomes.set(i, outcome)
                if case .notLinearizable = outcome { firstFailure.offer(i) }
            }
        }
        if threads > 1 { DispatchQueue.concurrentPerform(iterations: threads, execute: search) } else { search(0) }

        var failures: [(model: M, partition: Partition<M.Input, M.Output>, prefix: [Int], blocking: Int?)] = []
        var undecided: [Value] = []
        var unsearched = 0
        var totalSteps = 0
        let searched = outcomes.slots
        for (i, entry) in ordered.enumerated() {
            guard budget.allKeys || failures.isEmpty, let outcome = searched[i] else { unsearched += 1; continue }
            switch outcome {
            case .linearizable: continue
            case .unknown(let steps):
                totalSteps += steps
                undecided.append(entry.partition.key)
            case .notLinearizable(let prefix, let blocking, let steps):
                totalSteps += steps
                failures.append((entry.model, entry.partition, prefix, blocking))
            }
        }
        let anomalies = failures.map { failure -> Anomaly in
            let ops = failure.partition.operations, model = failure.model
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
            ("operations", .int(partitions.reduce(0) { $0 + $1.partition.operations.count })),
            ("failing-keys", .vector(failures.map(\.partition.key))),
            ("unknown-keys", .vector(undecided)),
            ("search-steps", .int(totalSteps)),
        ]
        if unsearched > 0 { stats.append(("keys-not-searched-after-the-first-failure", .int(unsearched))) }
        if let smallest = failures.first { stats.append(("smallest-failing-key", smallest.partition.key)) }
        return Analysis(checker: name, validity: validity, anomalies: anomalies, stats: stats)
    }
}
