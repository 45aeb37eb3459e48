import CrucibleWorkload
import Foundation

/// `crucible report`: one self-contained HTML page over one or more result directories (bench and verify),
/// verdict first, and a short Markdown summary for a CI job. Several bench directories are compared run by run
/// (same workload, same driver), with the gate's noise band deciding which differences count.
public struct Report {
    public let inputs: [(path: String, content: ResultDirectory)]
    let reportDirectory: String

    private typealias H = ReportHTML

    /// Loads every directory; refuses one it cannot read, and bench directories that share no run to compare.
    public init(directories: [String], output: String) throws {
        inputs = try directories.map { ($0, try ResultDirectory.load($0)) }
        reportDirectory = (output as NSString).deletingLastPathComponent.isEmpty ? "." : (output as NSString).deletingLastPathComponent
        let benches = benchResults
        if benches.count > 1 {
            let first = Set(benches[0].runs.map(\.identity))
            for other in benches.dropFirst() where first.isDisjoint(with: other.runs.map(\.identity)) {
                throw ReportInputError(other.directory, "shares no workload and driver with \(benches[0].directory) "
                                       + "(\(other.runs[0].identity) against \(benches[0].runs[0].identity)): nothing to compare")
            }
        }
    }

    var benchResults: [BenchResults] { inputs.compactMap { if case .bench(let b) = $0.content { return b } else { return nil } } }
    var verifyResults: [VerifyResults] { inputs.compactMap { if case .verify(let v) = $0.content { return v } else { return nil } } }

    // MARK: HTML

    public func html(generatedAt: Date = Date()) -> String {
        var body = "<h1>Crucible report</h1><p class=\"muted\">Generated \(H.esc(Self.timestamp(generatedAt))) from "
            + inputs.map { "<code>\(H.esc($0.path))</code>" }.joined(separator: ", ") + ".</p>"
        body += "<nav>" + navigation().map { "<a href=\"#\($0.anchor)\">\(H.esc($0.title))</a>" }.joined() + "</nav>"
        body += verdict()
        if benchResults.count > 1 { body += comparison() }
        for (index, bench) in benchResults.enumerated() { body += BenchSection(results: bench, tag: "b\(index)").render() }
        for (index, verify) in verifyResults.enumerated() {
            body += VerifySection(results: verify, tag: "v\(index)", reportDirectory: reportDirectory).render()
        }
        return "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Crucible report</title>"
            + "<meta name=\"viewport\" content=\"width=device-width\"><style>\(H.style)</style></head><body><main>"
            + body + "</main></body></html>\n"
    }

    private func navigation() -> [(anchor: String, title: String)] {
        var links = [("verdict", "Verdict")]
        if benchResults.count > 1 { links.append(("comparison", "Comparison")) }
        links += benchResults.indices.map { ("bench-b\($0)", "Benchmark \(benchResults.count > 1 ? String($0 + 1) : "")") }
        links += verifyResults.indices.map { ("verify-v\($0)", "Verification \(verifyResults.count > 1 ? String($0 + 1) : "")") }
        return links
    }

    /// What was run, on what, and what passed: the first thing a reader needs.
    private func verdict() -> String {
        var html = "<section id=\"verdict\"><h2>Verdict</h2>"
        for bench in benchResults {
            let failed = bench.runs.filter { $0.failedSends > 0 }
            let ok = bench.failures.isEmpty && failed.isEmpty
            html += "<p><span class=\"verdict \(ok ? "pass" : "fail")\">\(ok ? "benchmark complete" : "benchmark with failures")</span>"
                + "<code>\(H.esc(bench.directory))</code>: \(bench.runs.count) run(s)"
                + (bench.failures.isEmpty ? "" : ", \(bench.failures.count) failed to run")
                + (failed.isEmpty ? "" : ", \(failed.count) with unacknowledged sends (\(failed.map { H.esc($0.identity) }.joined(separator: "; ")))")
                + ".</p>"
            html += environment(bench)
        }
        for verify in verifyResults {
            let unmet = verify.runs.filter { !$0.outcome.expectationMet }
            let lost = verify.runs.reduce(0) { $0 + $1.outcome.acknowledgedWritesLost }
            html += "<p><span class=\"verdict \(unmet.isEmpty ? "pass" : "fail")\">\(unmet.isEmpty ? "verification as expected" : "verification NOT as expected")</span>"
                + "<code>\(H.esc(verify.directory))</code>: \(verify.runs.count) run(s) of "
                + "\(Set(verify.runs.map(\.outcome.scenario)).count) scenario(s); \(unmet.count) not as expected; "
                + "\(lost) acknowledged write(s) lost in all.</p>"
        }
        return html + "</section>"
    }

    private func environment(_ bench: BenchResults) -> String {
        guard let first = bench.runs.first else { return "" }
        let extras = first.extras
        var rows: [[String]] = []
        let cluster = bench.embeddedCluster.map { $0 ? "a local cluster the tool started (the embedded default)" : "a cluster given by --bootstrap-server" }
        rows.append(["cluster", H.esc(cluster ?? "not recorded")])
        if case .object(let versions)? = extras["versions"] {
            rows.append(["versions", H.esc(versions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.string ?? "")" }.joined(separator: ", "))])
        }
        if let machine = extras["machine"] {
            rows.append(["machine", H.esc("\(machine["cpus"]?.number.map { String(Int($0)) } ?? "?") × \(machine["cpuModel"]?.string ?? "?"), "
                                        + "\(H.number(machine["memoryGB"]?.number)) GB, kernel \(machine["kernel"]?.string ?? "?")")])
        }
        if let calibration = extras["calibration"] {
            for (key, name) in [("loopbackBytesPerSecond", "loopback TCP (iperf3)"), ("diskFdatasyncBytesPerSecond", "disk writes, fdatasync each"),
                                ("pageCacheFreshBytesPerSecond", "page cache, fresh pages"), ("pageCacheReusedBytesPerSecond", "page cache, reused pages")] {
                rows.append(["calibration: " + name, H.bytesPerSecond(calibration[key]?.number)])
            }
        } else {
            rows.append(["calibration", "not measured (--skip-calibration): throughput has no ratios"])
        }
        return H.table(["", ""], rows)
    }

    /// Every later bench directory against the first, run by run: the gate's comparison of the periods' samples.
    private func comparison() -> String {
        let baseline = benchResults[0]
        var html = "<section id=\"comparison\"><h2>Comparison</h2><p>Baseline: <code>\(H.esc(baseline.directory))</code>. A change counts "
            + "only beyond its tolerance and outside the noise band of the runs' spread (the gate's rule); a timing needs three "
            + "runs of a workload on each side for a verdict (runs of the same workload and driver in one directory are "
            + "repetitions). A fixed-rate run's throughput is compared as a ratio to the rate it was asked for, a searched "
            + "maximum as a ratio to its run's loopback calibration.</p>"
        for candidate in benchResults.dropFirst() {
            html += "<h3>\(H.esc(candidate.directory))</h3>"
            for (run, rows) in Self.compare(baseline, candidate) {
                html += "<h4>\(H.esc(run))</h4>"
                html += H.table(["metric", "baseline", "candidate", "change", "noise band", "verdict"], rows.map { row in
                    [H.esc("\(row.metric) (\(row.unit))"), H.number(row.baseline, digits: 4), H.number(row.candidate, digits: 4),
                     row.change.map { String(format: "%+.1f%%", $0 * 100) } ?? "–",
                     row.band.map { String(format: "±%.1f%%", $0 * 100) } ?? "–", H.esc(row.verdict.rawValue)]
                }, marks: rows.map { $0.verdict == .regression ? "bad" : $0.verdict == .improvement ? "good" : nil })
            }
        }
        return html + "</section>"
    }

    /// Runs of the same workload and driver in one directory are repetitions: pooled, one sample per run.
    static func compare(_ baseline: BenchResults, _ candidate: BenchResults) -> [(String, [GateComparison.Row])] {
        func repetitions(_ results: BenchResults) -> [(String, GateFile)] {
            var order: [String] = []
            var files: [String: [GateFile]] = [:]
            for run in results.runs {
                if files[run.identity] == nil { order.append(run.identity) }
                files[run.identity, default: []].append(GateFile(benchResult: run.result))
            }
            return order.map { ($0, GateFile.pooled(files[$0]!)) }
        }
        let base = Dictionary(repetitions(baseline), uniquingKeysWith: { first, _ in first })
        return repetitions(candidate).compactMap { identity, file in
            base[identity].map { (identity, GateComparison.compare(baseline: $0, candidate: file)) }
        }
    }

    // MARK: Markdown

    /// A few lines fit for a CI job's step summary.
    public func markdown() -> String {
        var lines = ["## Crucible report", ""]
        for bench in benchResults {
            lines.append("**Benchmark** `\(bench.directory)`: \(bench.runs.count) run(s), \(bench.failures.count) failed to run, "
                         + "\(bench.runs.filter { $0.failedSends > 0 }.count) with unacknowledged sends.")
            lines.append("")
            lines.append("| run | acks | msg/s | MB/s | publish p99 ms | e2e p99 ms | failed sends |")
            lines.append("|---|---|---|---|---|---|---|")
            for run in bench.runs {
                lines.append("| \(run.identity) | \(run.acks) | \(H.number(run.meanPublishRate)) | \(H.number(run.publishMBps)) | "
                             + "\(H.number(run.result.aggregatedPublishLatency99pct)) | \(H.number(run.result.aggregatedEndToEndLatency99pct)) | "
                             + "\(run.failedSends) |")
            }
            lines.append("")
        }
        if benchResults.count > 1 {
            for candidate in benchResults.dropFirst() {
                let rows = Self.compare(benchResults[0], candidate).flatMap { run, rows in rows.map { (run, $0) } }
                let worse = rows.filter { $0.1.verdict == .regression }
                lines.append("**Against** `\(benchResults[0].directory)`: `\(candidate.directory)` has \(worse.count) regression(s) "
                             + "beyond the noise" + (worse.isEmpty ? "." : ":"))
                for (run, row) in worse {
                    lines.append("- \(run): \(row.metric) \(row.change.map { String(format: "%+.1f%%", $0 * 100) } ?? "")")
                }
                lines.append("")
            }
        }
        for verify in verifyResults {
            lines.append("**Verification** `\(verify.directory)`: \(verify.runs.filter { $0.outcome.expectationMet }.count) of "
                         + "\(verify.runs.count) run(s) as expected.")
            lines.append("")
            lines.append("| scenario | run | outcome | anomalies | acknowledged | lost |")
            lines.append("|---|---|---|---|---|---|")
            for run in verify.runs {
                let o = run.outcome
                lines.append("| \(o.scenario) | \((run.directory as NSString).lastPathComponent) | "
                             + "\(o.expectationMet ? "as expected" : "**not as expected**") | "
                             + "\(o.anomalyTypes.isEmpty ? "none" : o.anomalyTypes.joined(separator: ", ")) | \(o.acknowledgedSends) | "
                             + "\(o.acknowledgedWritesLost) |")
            }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
