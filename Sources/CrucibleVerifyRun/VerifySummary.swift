import Foundation

/// The summary across every run of an invocation: `summary.json` for machines, `summary.md` for people (and a
/// CI job's step summary): per scenario, runs, expectations met, anomalies found and acknowledged writes lost.
public enum VerifySummary {
    public static func write(_ outcomes: [VerifyOutcome], to directory: String) throws {
        try JSONEncoder.pretty.encode(["runs": outcomes]).write(to: URL(fileURLWithPath: directory + "/summary.json"))
        try Data(markdown(outcomes).utf8).write(to: URL(fileURLWithPath: directory + "/summary.md"))
    }

    public static func markdown(_ outcomes: [VerifyOutcome]) -> String {
        var lines = ["# Verification", ""]
        if let mutation = outcomes.lazy.compactMap(\.mutation).first {
            // A run that does not meet its expectation is one that caught the bug.
            let caught = outcomes.filter { !$0.expectationMet }.count
            lines += [caught == 0 ? "With the planted bug `\(mutation)`: caught by none of the \(outcomes.count) run(s)."
                      : "With the planted bug `\(mutation)`: caught by \(caught) of \(outcomes.count) run(s).", ""]
        }
        lines += [
                     "| scenario | runs | as expected | anomalies found | acknowledged sends | acknowledged writes lost |",
                     "|---|---|---|---|---|---|"]
        var order: [String] = []
        for outcome in outcomes where !order.contains(outcome.scenario) { order.append(outcome.scenario) }
        for name in order {
            let runs = outcomes.filter { $0.scenario == name }
            let types = Set(runs.flatMap(\.anomalyTypes)).subtracting(runs.flatMap(\.allowedAnomalyTypes)).sorted()
            let lost = runs.map { String($0.acknowledgedWritesLost) }.joined(separator: ", ")
            lines.append("| \(name) | \(runs.count) | \(runs.filter(\.expectationMet).count) | "
                         + "\(types.isEmpty ? "none" : types.joined(separator: ", ")) | "
                         + "\(runs.map(\.acknowledgedSends).reduce(0, +)) | \(lost) |")
        }
        let unmet = outcomes.filter { !$0.expectationMet }
        if !unmet.isEmpty {
            lines += ["", "## Runs that did not meet their expectation", ""]
            lines += unmet.map { "- \($0.scenario), seed \($0.seed): \($0.reason) (\($0.directory))" }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
