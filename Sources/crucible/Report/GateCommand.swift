import ArgumentParser
import CrucibleReport
import Foundation

/// `crucible gate`: a candidate's measurements against a committed baseline; exit 1 on a regression beyond the
/// noise, 2 on input it cannot use.
struct GateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gate",
        abstract: "Compare a candidate's measurements with a baseline; exit 1 on a regression beyond the noise.")

    @Option(name: .long, help: "The baseline: a gate file (crucible-gate/1 JSON) or a bench result JSON. Repeat it for repeated runs: each becomes one sample (its median), and timings need three runs a side for a verdict.")
    var baseline: [String] = []

    @Option(name: .long, help: "The candidate, measured the same way (the same workload and driver, for bench results); repeatable like --baseline.")
    var candidate: [String] = []

    @Option(name: .long, help: "Measure this build instead (instruction counts of fixed micro-workloads under valgrind) and write a gate file here: a candidate, or, committed, the baseline.")
    var measure: String?

    @Option(name: .long, help: "With --measure: repetitions of every micro-workload.")
    var repetitions = 3

    @Option(name: .long, help: .hidden)
    var runWorkload: String?

    @Option(name: .long, parsing: .singleValue, help: "METRIC=PCT: the change this metric may show before it counts (default 2% for counts, 10% for timings).")
    var tolerance: [String] = []

    @Option(name: .long, help: "Also write the table, as Markdown, to this file (a CI job's step summary).")
    var markdown: String?

    func run() throws {
        if let runWorkload {
            guard let workload = GateWorkload(rawValue: runWorkload) else { throw UsageError("--run-workload \(runWorkload): unknown") }
            _ = try workload.run()
            return
        }
        if let measure {
            guard baseline.isEmpty, candidate.isEmpty else { throw UsageError("--measure: give it alone, not with --baseline or --candidate") }
            guard (1...100).contains(repetitions) else { throw UsageError("--repetitions \(repetitions): expected 1 to 100") }
            return try measureThisBuild(into: measure)
        }
        guard !baseline.isEmpty, !candidate.isEmpty else {
            throw UsageError("give --baseline FILE and --candidate FILE (or --measure FILE)")
        }
        let (base, cand) = (try load(baseline), try load(candidate))
        guard base.workload == cand.workload else {
            throw UsageError("\(candidate[0]): measures \(cand.workload), not the baseline's \(base.workload)")
        }
        let tolerances = try parseTolerances(known: Set(base.metrics.keys).union(cand.metrics.keys))
        let rows = GateComparison.compare(baseline: base, candidate: cand, tolerances: tolerances)
        let table = GateComparison.markdown(rows)
        print(table, terminator: "")
        if let markdown { try Data(table.utf8).write(to: URL(fileURLWithPath: markdown)) }
        let regressions = rows.filter { $0.verdict == .regression }.map(\.metric)
        guard regressions.isEmpty else {
            FileHandle.standardError.write(Data("crucible gate: regression in \(regressions.joined(separator: ", "))\n".utf8))
            throw ExitCode(1)
        }
    }

    /// One side's files, pooled: all must measure the same workload.
    private func load(_ paths: [String]) throws -> GateFile {
        do {
            let files = try paths.map { try GateFile.loadAny(path: $0) }
            for (path, file) in zip(paths, files).dropFirst() where file.workload != files[0].workload {
                throw UsageError("\(path): measures \(file.workload), not \(paths[0])'s \(files[0].workload)")
            }
            return GateFile.pooled(files)
        } catch let error as GateInputError {
            throw UsageError(error.description)
        }
    }

    private func measureThisBuild(into path: String) throws {
        let metrics: [String: GateFile.Metric]
        do {
            metrics = try GateMeasurement.deterministic(executable: Self.thisExecutable, repetitions: repetitions) {
                FileHandle.standardError.write(Data("crucible gate: \($0)\n".utf8))
            }
        } catch let error as GateInputError {
            throw UsageError("--measure: \(error.description)")
        }
        try GateFile(workload: GateMeasurement.workloadName, metrics: metrics).write(to: path)
        print("wrote \(path): \(metrics.count) metrics, \(repetitions) repetition(s) each")
    }

    private static var thisExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    private func parseTolerances(known: Set<String>) throws -> [String: Double] {
        var tolerances: [String: Double] = [:]
        for entry in tolerance {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let percent = Double(parts[1].hasSuffix("%") ? String(parts[1].dropLast()) : parts[1]),
                  percent >= 0, percent.isFinite else {
                throw UsageError("--tolerance \(entry): expected METRIC=PCT, a metric name and a percentage")
            }
            guard known.contains(parts[0]) else {
                throw UsageError("--tolerance \(entry): no metric \(parts[0]) in the baseline or the candidate")
            }
            tolerances[parts[0]] = percent / 100
        }
        return tolerances
    }
}
