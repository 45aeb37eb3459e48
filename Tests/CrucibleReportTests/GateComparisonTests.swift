import CrucibleReport
import Foundation
import XCTest

/// The gate's verdicts: a change beyond the tolerance and the noise is a regression (or an improvement), noise is
/// not, and the direction that counts as worse is the metric's own.
final class GateComparisonTests: XCTestCase {
    func file(_ metrics: [String: GateFile.Metric], workload: String = "micro") -> GateFile {
        GateFile(workload: workload, metrics: metrics)
    }

    func counts(_ samples: [Double]) -> GateFile.Metric { .init(unit: "instructions", tier: .deterministic, better: .lower, samples: samples) }
    func rate(_ samples: [Double]) -> GateFile.Metric { .init(unit: "msg/s", tier: .timed, better: .higher, samples: samples) }

    func verdict(_ base: GateFile.Metric, _ cand: GateFile.Metric, tolerance: Double? = nil) -> GateComparison.Verdict {
        let rows = GateComparison.compare(baseline: file(["m": base]), candidate: file(["m": cand]),
                                          tolerances: tolerance.map { ["m": $0] } ?? [:])
        return rows[0].verdict
    }

    func testACountBeyondItsToleranceIsARegressionAndWithinItIsNot() {
        let base = counts([1_000_000, 1_000_020, 999_990])
        XCTAssertEqual(verdict(base, counts([1_010_000, 1_010_010, 1_009_990])), .withinNoise)  // +1%, tolerance 2%
        XCTAssertEqual(verdict(base, counts([1_200_000, 1_200_010, 1_199_990])), .regression)   // +20%
        XCTAssertEqual(verdict(base, counts([800_000, 800_010, 799_990])), .improvement)
        XCTAssertEqual(verdict(base, counts([1_010_000]), tolerance: 0.005), .regression, "a tighter tolerance")
    }

    func testHigherIsBetterForRatesSoAFallIsTheRegression() {
        let base = rate([100, 101, 99, 100, 100])
        XCTAssertEqual(verdict(base, rate([80, 81, 79, 80, 80])), .regression)
        XCTAssertEqual(verdict(base, rate([120, 121, 119, 120, 120])), .improvement)
        XCTAssertEqual(verdict(base, rate([95, 96, 94, 95, 95])), .withinNoise)
    }

    /// Periods of one run say nothing about how a timing moves between runs: a change beyond the tolerance is
    /// reported but not called a regression until each side has three runs. Counts repeat exactly, so one run is
    /// enough for them.
    func testATimingNeedsThreeRunsASideForAVerdict() {
        XCTAssertEqual(verdict(rate([100, 101]), rate([50, 51])), .tooFewRuns)
        XCTAssertEqual(verdict(rate([100]), rate([100])), .withinNoise)
        XCTAssertEqual(verdict(rate([100, 101, 99]), rate([50, 51, 49])), .regression)
        var periodsOfOneRun = rate([100, 101, 99, 100, 100])
        periodsOfOneRun.runs = 1
        XCTAssertEqual(verdict(periodsOfOneRun, rate([50, 51, 49])), .tooFewRuns)
        XCTAssertEqual(verdict(counts([1_000_000]), counts([1_200_000])), .regression)
    }

    /// Pooled results give one sample per run, each run's median, and count as that many runs.
    func testPoolingRunsTakesEachRunsMedian() {
        func run(_ samples: [Double]) -> GateFile {
            var metric = rate(samples)
            metric.runs = 1
            return file(["m": metric])
        }
        let pooled = GateFile.pooled([run([1, 2, 3]), run([10, 20, 30, 40]), run([7])])
        XCTAssertEqual(pooled.metrics["m"]?.samples, [2, 25, 7])
        XCTAssertEqual(pooled.metrics["m"]?.runCount, 3)
    }

    func testNoisySamplesWidenTheBandBeyondTheTolerance() {
        // Spread of about 30% each side: a 20% drop in the median is within what the noise explains.
        let base = rate([70, 100, 130, 85, 115])
        let cand = rate([56, 80, 104, 68, 92])
        let row = GateComparison.compare(baseline: file(["m": base]), candidate: file(["m": cand]))[0]
        XCTAssertEqual(row.verdict, .withinNoise)
        XCTAssertGreaterThan(row.band!, 0.2)
        // The same 20% drop with tight samples is a regression.
        XCTAssertEqual(verdict(rate([99, 100, 101, 100, 100]), rate([79, 80, 81, 80, 80])), .regression)
    }

    func testMetricsOnOneSideAreShownNotJudged() {
        let rows = GateComparison.compare(baseline: file(["gone": counts([1]), "kept": counts([5])]),
                                          candidate: file(["kept": counts([5]), "new": counts([2])]))
        XCTAssertEqual(rows.map(\.metric), ["gone", "kept", "new"])
        XCTAssertEqual(rows.map(\.verdict), [.onlyInBaseline, .withinNoise, .onlyInCandidate])
    }

    func testTheTableNamesEveryMetricWithItsChangeAndVerdict() {
        let rows = GateComparison.compare(baseline: file(["crc": counts([1_000_000])]), candidate: file(["crc": counts([1_250_000])]))
        let table = GateComparison.markdown(rows)
        XCTAssertTrue(table.contains("| crc (instructions) | 1000000 | 1250000 | +25.00% | ±2.00% | **regression** |"), table)
    }

    func testBadFilesAreRefusedNamingTheFileAndTheProblem() throws {
        let directory = NSTemporaryDirectory() + "gate-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [(String, String)] = [
            ("{not json", "malformed JSON"),
            (#"{"format": "crucible-gate/1", "workload": "w"}"#, "missing metrics"),
            (#"{"format": "other/9", "workload": "w", "metrics": {"m": {"unit": "u", "tier": "timed", "better": "lower", "samples": [1]}}}"#, "format other/9"),
            (#"{"format": "crucible-gate/1", "workload": "w", "metrics": {"m": {"unit": "u", "tier": "timed", "better": "lower", "samples": []}}}"#, "metric m has no samples"),
            (#"{"format": "crucible-gate/1", "workload": "w", "metrics": {"m": {"unit": "u", "tier": "fast", "better": "lower", "samples": [1]}}}"#, "metrics.m.tier"),
        ]
        for (index, (text, problem)) in cases.enumerated() {
            let path = "\(directory)/\(index).json"
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try GateFile.load(path: path), text) { error in
                let message = String(describing: error)
                XCTAssertTrue(message.hasPrefix(path) && message.contains(problem), message)
            }
        }
        XCTAssertThrowsError(try GateFile.load(path: "\(directory)/absent.json")) {
            XCTAssertTrue(String(describing: $0).contains("cannot be read"))
        }
        // A file written by the gate reads back equal.
        let written = file(["m": counts([3, 4])])
        try written.write(to: "\(directory)/ok.json")
        XCTAssertEqual(try GateFile.load(path: "\(directory)/ok.json"), written)
    }
}
