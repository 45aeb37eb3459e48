// OMB's result JSON: field names exactly as OMB's TestResult, units, quantile keys as Java writes doubles.
import CrucibleWorkload
import Foundation
import Histogram
import XCTest

final class TestResultTests: XCTestCase {
    /// Every field of OMB's `TestResult` (openmessaging/benchmark, benchmark-framework, 2026).
    static let ombKeys: Set<String> = {
        var keys: Set<String> = ["workload", "driver", "messageSize", "topics", "partitions", "producersPerTopic",
                                 "consumersPerTopic", "publishRate", "publishErrorRate", "consumeRate", "backlog",
                                 "aggregatedPublishLatencyQuantiles", "aggregatedPublishDelayLatencyQuantiles",
                                 "aggregatedEndToEndLatencyQuantiles"]
        let suffixes = ["Avg", "50pct", "75pct", "95pct", "99pct", "999pct", "9999pct", "Max"]
        for series in ["publishLatency", "publishDelayLatency", "endToEndLatency"] {
            for suffix in suffixes {
                keys.insert(series + suffix)
                keys.insert("aggregated" + series.prefix(1).uppercased() + series.dropFirst() + suffix)
            }
        }
        return keys
    }()

    private func histogram(_ values: [UInt64]) -> Histogram<UInt64> {
        var h = Histogram<UInt64>(highestTrackableValue: 60_000_000)
        for v in values { h.record(v) }
        return h
    }

    private func jsonObject(_ result: TestResult) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: result.encoded()) as? [String: Any])
    }

    private func sample() -> TestResult {
        var result = TestResult(workload: "1 topic / 16 partitions / 1kb", driver: "Crucible", messageSize: 1024,
                                topics: 1, partitions: 16, producersPerTopic: 1, consumersPerTopic: 1)
        let h = histogram(Array(repeating: 1500, count: 10))
        result.appendPeriod(publishRate: 1000, publishErrorRate: 0, consumeRate: 999.5, backlog: 5,
                            publish: h, publishDelay: h, endToEnd: h)
        result.setAggregates(publish: h, publishDelay: h, endToEnd: h)
        return result
    }

    func testKeysAreExactlyOMBs() throws {
        XCTAssertEqual(Self.ombKeys.count, 14 + 3 * 8 * 2)
        XCTAssertEqual(Set(try jsonObject(sample()).keys), Self.ombKeys, "no crucible key when it is nil")
        var withOwn = sample()
        withOwn.crucible = ["calibration": .object(["cores": .number(2)])]
        XCTAssertEqual(Set(try jsonObject(withOwn).keys), Self.ombKeys.union(["crucible"]))
    }

    func testUnitsAreOMBs() throws {
        let result = sample()
        XCTAssertEqual(result.publishLatency50pct, [1.5]) // ms
        XCTAssertEqual(result.publishDelayLatency50pct, [1500]) // µs
        XCTAssertEqual(result.endToEndLatencyMax, [1.5])
        XCTAssertEqual(result.publishLatencyAvg[0], 1.5, accuracy: 0.001)
        XCTAssertEqual(result.aggregatedPublishLatency9999pct, 1.5)
        XCTAssertEqual(result.aggregatedPublishDelayLatencyMax, 1500)
        XCTAssertEqual(result.aggregatedEndToEndLatency99pct, 1.5)
        let json = try jsonObject(result)
        XCTAssertEqual(json["publishDelayLatency50pct"] as? [Int], [1500])
        XCTAssertEqual(json["publishLatency50pct"] as? [Double], [1.5])
        XCTAssertEqual(json["backlog"] as? [Int], [5])
        XCTAssertEqual(json["aggregatedPublishLatencyQuantiles"] as? [String: Double], ["100.0": 1.5])
        XCTAssertEqual(json["aggregatedPublishDelayLatencyQuantiles"] as? [String: Int], ["100.0": 1500])
    }

    func testPercentilesAreJavasHighestEquivalentValue() {
        // 100,000 µs sits in a bucket 64 µs wide (99,968...100,031): Java reports the top of it for every
        // percentile and for max; hdrhistogram-swift's valueAtPercentile would clamp to 100,000.
        let summary = LatencySummary(histogram([100_000]), divisor: 1000)
        XCTAssertEqual(summary.p50, 100.031)
        XCTAssertEqual(summary.p99, 100.031)
        XCTAssertEqual(summary.max, 100.031)
        let spread = histogram(Array(1 ... 1000))
        XCTAssertEqual(LatencySummary.valueAtPercentile(spread, 50), 500)
        XCTAssertEqual(LatencySummary.valueAtPercentile(spread, 99.9), 999)
        XCTAssertEqual(LatencySummary.valueAtPercentile(spread, 0), 1)
        XCTAssertEqual(LatencySummary.valueAtPercentile(histogram([]), 50), 0)
    }

    func testQuantileKeysAreCumulativePercentilesAsJavaWritesThem() {
        // 128 values: each step's percentile is k/128 x 100, so keys like 0.78125 and 99.21875 appear.
        let q = LatencySummary.quantiles(histogram(Array(1 ... 128)), divisor: 1000)
        XCTAssertEqual(q["0.78125"], 0.001)
        XCTAssertEqual(q["50.0"], 0.064)
        XCTAssertEqual(q["99.21875"], 0.127)
        XCTAssertEqual(q["100.0"], 0.128)
        XCTAssertTrue(q.keys.allSatisfy { Double($0) != nil && !$0.contains("e") }, "\(q.keys)")
        // Keys are percentiles reached, not levels iterated to: 100 equal values give the single key 100.0.
        XCTAssertEqual(LatencySummary.quantiles(histogram(Array(repeating: 7, count: 100)), divisor: 1), ["100.0": 7])
    }

    func testJavaDoubleToString() {
        let cases: [(Double, String)] = [
            (50, "50.0"), (99.9, "99.9"), (99.99, "99.99"), (99.21875, "99.21875"), (100, "100.0"), (0, "0.0"),
            (0.5, "0.5"), (0.001, "0.001"), (0.0001, "1.0E-4"), (0.000123, "1.23E-4"), (1e-5, "1.0E-5"),
            (9_999_999, "9999999.0"), (1e7, "1.0E7"), (12_345_678.9, "1.23456789E7"), (1e21, "1.0E21"),
            (100.0 / 3, "33.333333333333336"), (-2.5, "-2.5"), (.infinity, "Infinity"), (-0.0, "-0.0"),
        ]
        for (value, java) in cases {
            XCTAssertEqual(JavaDouble.string(value), java, "\(value)")
        }
    }

    func testFileNameIsOMBs() {
        let date = Date(timeIntervalSince1970: 1_767_312_245) // 2026-01-02 00:04:05 UTC
        let utc = TimeZone(identifier: "UTC")!
        XCTAssertEqual(TestResult.fileName(workloadFile: "workloads/1-topic-16-partitions-1kb.yaml", driverName: "Crucible",
                                           date: date, timeZone: utc),
                       "1-topic-16-partitions-1kb-Crucible-2026-01-02-00-04-05.json")
        XCTAssertEqual(TestResult.fileName(workloadFile: "/abs/max-rate.v2.yml", driverName: "Kafka", date: date,
                                           timeZone: utc),
                       "max-rate.v2-Kafka-2026-01-02-00-04-05.json")
    }

    func testEncodedResultDecodesBackWithTheCrucibleSection() throws {
        var result = sample()
        result.crucible = ["verdict": .string("ok"), "stalls": .array([.number(1.5), .null, .bool(true)]),
                           "nested": .object(["x": .object([:])])]
        let text = String(decoding: try result.encoded(), as: UTF8.self)
        XCTAssertTrue(text.contains("\n  \""), "pretty-printed")
        XCTAssertEqual(try TestResult.decode(result.encoded()), result)
    }
}
