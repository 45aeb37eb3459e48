import Foundation

/// The gate's judgement of one candidate against a baseline, metric by metric, built for a noisy shared machine:
/// each side is summarised by its median and a robust spread (the median absolute deviation, scaled to a standard
/// deviation), and a change counts only when it is beyond both the metric's tolerance and the noise the two sides
/// show (three standard errors of the difference of medians). A metric with one sample has no spread of its own:
/// its tolerance alone is the band.
public enum GateComparison {
    public enum Verdict: String, Sendable, Equatable {
        case regression, improvement, withinNoise = "within noise", onlyInBaseline = "only in baseline",
             onlyInCandidate = "only in candidate", tooFewRuns = "too few runs to judge"
    }

    public struct Row: Sendable, Equatable {
        public var metric: String
        public var unit: String
        public var baseline: Double?
        public var candidate: Double?
        /// (candidate - baseline) / baseline, as measured (its sign is the metric's, not better or worse).
        public var change: Double?
        /// The relative change, either way, within which the verdict is "within noise".
        public var band: Double?
        public var verdict: Verdict
    }

    /// Default tolerances: instruction and allocation counts move by a few in a million between runs, timings by
    /// tens of percent on a shared machine.
    public static func defaultTolerance(_ tier: GateFile.Metric.Tier) -> Double {
        tier == .deterministic ? 0.02 : 0.10
    }

    static let standardErrors = 3.0
    /// A timed metric needs this many independent runs on each side: a timing moves between runs of the same build
    /// by more than its spread within one run (two identical 5,000 msg/s runs here differed by 15-30% in p50 and
    /// p99 latency), so only a spread measured between runs can tell a change from noise. Counts repeat exactly,
    /// so one run is enough for them.
    static let minimumTimedRuns = 3

    /// Compares every metric of either file. `tolerances` (fractions) override the default per metric name.
    public static func compare(baseline: GateFile, candidate: GateFile, tolerances: [String: Double] = [:]) -> [Row] {
        let names = Set(baseline.metrics.keys).union(candidate.metrics.keys).sorted()
        return names.map { name in
            switch (baseline.metrics[name], candidate.metrics[name]) {
            case (let base?, let cand?):
                return judge(name, base, cand, tolerance: tolerances[name] ?? defaultTolerance(base.tier))
            case (let base?, nil):
                return Row(metric: name, unit: base.unit, baseline: median(base.samples), verdict: .onlyInBaseline)
            case (nil, let cand?):
                return Row(metric: name, unit: cand.unit, candidate: median(cand.samples), verdict: .onlyInCandidate)
            case (nil, nil):
                preconditionFailure("a metric name comes from one of the files")
            }
        }
    }

    static func judge(_ name: String, _ base: GateFile.Metric, _ cand: GateFile.Metric, tolerance: Double) -> Row {
        let (b, c) = (median(base.samples), median(cand.samples))
        var row = Row(metric: name, unit: base.unit, baseline: b, candidate: c, verdict: .withinNoise)
        guard b > 0 else {
            row.verdict = c == b ? .withinNoise : (cand.better == .lower) == (c > b) ? .regression : .improvement
            return row
        }
        let change = (c - b) / b
        // Median's standard error is about 1.2533 sigma / sqrt(n) for a normal spread.
        func variance(_ samples: [Double], _ middle: Double) -> Double {
            let sigma = 1.4826 * median(samples.map { abs($0 - middle) }) / middle
            return pow(1.2533 * sigma, 2) / Double(samples.count)
        }
        let noise = standardErrors * (variance(base.samples, b) + (c > 0 ? variance(cand.samples, c) : 0)).squareRoot()
        let band = max(tolerance, noise)
        let worse = base.better == .lower ? change : -change
        row.change = change
        row.band = band
        row.verdict = worse > band ? .regression : worse < -band ? .improvement : .withinNoise
        if base.tier == .timed && min(base.runCount, cand.runCount) < minimumTimedRuns && row.verdict != .withinNoise {
            row.verdict = .tooFewRuns
        }
        return row
    }

    public static func median(_ samples: [Double]) -> Double {
        let sorted = samples.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The table a person reads, Markdown (it is also a CI job's step summary).
    public static func markdown(_ rows: [Row]) -> String {
        func number(_ value: Double?) -> String {
            guard let value else { return "" }
            if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
            return String(format: abs(value) >= 100 ? "%.1f" : "%.4g", value)
        }
        func percent(_ value: Double?) -> String { value.map { String(format: "%+.2f%%", $0 * 100) } ?? "" }
        var lines = ["| metric | baseline | candidate | change | noise band | verdict |", "|---|---|---|---|---|---|"]
        for row in rows {
            let band = row.band.map { String(format: "±%.2f%%", $0 * 100) } ?? ""
            let verdict = row.verdict == .regression ? "**regression**" : row.verdict.rawValue
            lines.append("| \(row.metric) (\(row.unit)) | \(number(row.baseline)) | \(number(row.candidate)) | "
                         + "\(percent(row.change)) | \(band) | \(verdict) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
