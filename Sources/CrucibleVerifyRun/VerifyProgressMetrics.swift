import CrucibleMetrics

/// A verify invocation's own progress as `crucible_verify_*` series (`verify --metrics-port`): the running
/// workload's operations by kind and outcome, then each finished run's verdict, acknowledged sends, lost writes
/// and anomalies, labelled by scenario.
extension VerifyRun {
    func recordProgress(_ completed: [String: Int], elapsedSeconds: Double, into metrics: MetricsRegistry) {
        let run = [("scenario", scenario.name), ("seed", String(seed))]
        for (operation, count) in completed {
            // "send ok", "poll info", "txn fail": the operation, then its outcome.
            let parts = operation.split(separator: " ", maxSplits: 1).map(String.init)
            let labels = run + [("type", parts[0]), ("outcome", parts.count > 1 ? parts[1] : "")]
            metrics.gauge("crucible_verify_operations", labels, help: "Operations the running workload completed so far.")
                .set(Double(count))
        }
        metrics.gauge("crucible_verify_elapsed_seconds", run).set(elapsedSeconds)
    }
}

extension VerifyOutcome {
    public func record(into metrics: MetricsRegistry) {
        let labels = [("scenario", scenario)], verify = "crucible_verify_"
        metrics.counter(verify + "runs_total", labels + [("result", expectationMet ? "as expected" : "not as expected")],
                        help: "Runs finished, by whether their verdict was the scenario's expectation.").increment()
        metrics.counter(verify + "acknowledged_sends_total", labels).increment(by: Int64(acknowledgedSends))
        metrics.counter(verify + "acknowledged_writes_lost_total", labels,
                        help: "Acknowledged writes no final read found.").increment(by: Int64(acknowledgedWritesLost))
        for type in anomalyTypes {
            metrics.counter(verify + "anomalous_runs_total", labels + [("type", type)],
                            help: "Runs whose history shows the anomaly.").increment()
        }
    }
}

/// A run that did not finish (its cluster would not start, it stalled): counted apart from verdicts.
public func recordFailedRun(scenario: String, into metrics: MetricsRegistry) {
    metrics.counter("crucible_verify_failed_runs_total", [("scenario", scenario)]).increment()
}
