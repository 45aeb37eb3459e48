// HdrHistogram interval logs (.hlog 1.3): writer → reader round trips, refusals with line numbers, and a log read
// back by the PyPI `hdrhistogram` package (installed by Scripts/setup.sh from Scripts/requirements.txt).
import CrucibleWorkload
import Foundation
import Histogram
import XCTest

final class HistogramLogTests: XCTestCase {
    private let start = Date(timeIntervalSince1970: 1_767_225_600.25)

    private func threeIntervals() -> [(tag: String?, start: Double, histogram: Histogram<UInt64>)] {
        [("publish", 0, wideHistogram(seed: 11, highest: 60_000_000)),
         ("e2e", 0, wideHistogram(seed: 12, highest: 43_200_000_000)),
         (nil, 1.5, wideHistogram(seed: 13, highest: 60_000_000, samples: 100))]
    }

    func testWriterHeaderAndLinesFollowFormat13() throws {
        var writer = HistogramLogWriter(startTime: start)
        var h = Histogram<UInt64>(highestTrackableValue: 60_000_000)
        h.record(1500)
        writer.append(tag: "publish", start: 2, length: 1, histogram: h)
        let lines = writer.text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "#[Histogram log format version 1.3]")
        XCTAssertTrue(lines[1].hasPrefix("#[StartTime: 1767225600.250 (seconds since epoch), "), lines[1])
        XCTAssertTrue(lines.contains("\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""))
        XCTAssertTrue(lines.contains { $0.hasPrefix("#") && $0.contains("microseconds") })
        // 1500 µs → max column 1.500 ms.
        XCTAssertTrue(lines.last!.hasPrefix("Tag=publish,2.000,1.000,1.500,HISTFAAA"), lines.last!)
    }

    func testWriterToReaderRoundTripKeepsTagsTimesAndHistograms() throws {
        var writer = HistogramLogWriter(startTime: start)
        for interval in threeIntervals() {
            writer.append(tag: interval.tag, start: interval.start, length: 1.5, histogram: interval.histogram)
        }
        let log = try HistogramLogReader(text: writer.text)
        XCTAssertEqual(log.startTime, 1_767_225_600.25)
        XCTAssertEqual(log.baseTime, 1_767_225_600.25)
        XCTAssertEqual(log.intervals.count, 3)
        for (read, written) in zip(log.intervals, threeIntervals()) {
            XCTAssertEqual(read.tag, written.tag)
            XCTAssertEqual(read.start, written.start)
            XCTAssertEqual(read.length, 1.5)
            XCTAssertEqual(read.max, Double(written.histogram.max) / 1000) // µs written as ms, 3 decimals
            XCTAssertEqual(read.histogram, written.histogram)
        }
    }

    func testFileWriterLeavesEveryIntervalOnDisk() throws {
        let path = try temporaryDirectory().appendingPathComponent("run.hlog").path
        var writer = try HistogramLogWriter(path: path, startTime: start)
        for interval in threeIntervals() {
            writer.append(tag: interval.tag, start: interval.start, length: 1, histogram: interval.histogram)
        }
        try writer.close()
        XCTAssertEqual(writer.text, "", "file mode keeps nothing in memory")
        let log = try HistogramLogReader(path: path)
        XCTAssertEqual(log.intervals.map(\.histogram), threeIntervals().map(\.histogram))
    }

    func testTagsThatWouldNotReadBackAreInvalid() {
        for tag in ["a,b", "a b", "a\tb", ""] { XCTAssertFalse(HistogramLogWriter.isValidTag(tag), tag) }
        for tag in ["publish", "end-to-end-intended", "p.99"] { XCTAssertTrue(HistogramLogWriter.isValidTag(tag), tag) }
    }

    func testMalformedLinesAreRefusedWithTheirLineNumber() throws {
        var writer = HistogramLogWriter(startTime: start)
        writer.append(tag: nil, start: 0, length: 1, histogram: wideHistogram(seed: 1, samples: 10))
        let good = writer.text
        let goodLines = good.split(separator: "\n").count
        let payload = String(good.split(separator: "\n").last!.split(separator: ",").last!)
        let bad = [
            "0.000,1.000,HISTFAAA", // a field missing
            "x,1.000,2.000,\(payload)", // start not a number
            "0.000,1.000,2.000,%%%notbase64", // not base64
            "0.000,1.000,2.000,\(String(payload.dropLast(8)))", // truncated histogram
            "Tag=only", // a tag and nothing else
            "#[StartTime: soon (seconds since epoch)]",
        ]
        for line in bad {
            XCTAssertThrowsError(try HistogramLogReader(text: good + line + "\n"), line) { error in
                XCTAssertTrue("\(error)".hasPrefix("line \(goodLines + 1):"), "\(error)")
            }
        }
        XCTAssertNoThrow(try HistogramLogReader(text: good + "\n#[a comment]\n"))
    }

    func testPythonHdrhistogramReadsTheLog() throws {
        let path = try temporaryDirectory().appendingPathComponent("python.hlog").path
        var writer = try HistogramLogWriter(path: path, startTime: start)
        var intervals = threeIntervals()
        // 10,000 samples: Java's rank (ceiling) and Python's (rounding) agree at p99, so p99 must match exactly.
        var exact = Histogram<UInt64>(highestTrackableValue: 60_000_000)
        var rng = HistogramTestRandom(state: 99)
        for _ in 0 ..< 10_000 { exact.record(UInt64.random(in: 100 ... 5_000_000, using: &rng)) }
        intervals.append(("exact", 3, exact))
        for interval in intervals {
            writer.append(tag: interval.tag, start: interval.start, length: 1, histogram: interval.histogram)
        }
        try writer.close()

        let decoded = try runPythonReader(path)
        XCTAssertEqual(decoded.count, intervals.count)
        for (py, ours) in zip(decoded, intervals) {
            XCTAssertEqual(py["tag"] as? String, ours.tag)
            XCTAssertEqual(py["count"] as? Int, Int(ours.histogram.totalCount))
            XCTAssertEqual(py["max"] as? Int, Int(ours.histogram.max))
            let startMs = try XCTUnwrap(py["start_ms"] as? Double)
            XCTAssertEqual(startMs, (start.timeIntervalSince1970 + ours.start) * 1000, accuracy: 1)
            let p99 = try XCTUnwrap(py["p99"] as? Int)
            let ourP99 = LatencySummary.valueAtPercentile(ours.histogram, 99)
            XCTAssertEqual(Double(p99), Double(ourP99), accuracy: Double(ourP99) / 500 + 1, "within 3 digits")
            if ours.tag == "exact" { XCTAssertEqual(UInt64(p99), ourP99) }
        }
    }

    private func runPythonReader(_ path: String) throws -> [[String: Any]] {
        let script = """
            import json, sys
            from hdrh.histogram import HdrHistogram
            from hdrh.log import HistogramLogReader
            reader = HistogramLogReader(sys.argv[1], HdrHistogram(1, 60000000, 3))
            out = []
            while True:
                h = reader.get_next_interval_histogram()
                if h is None:
                    break
                out.append({"tag": h.get_tag(), "count": h.get_total_count(), "max": h.get_max_value(),
                            "p99": h.get_value_at_percentile(99), "start_ms": h.get_start_time_stamp()})
            print(json.dumps(out))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path]
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            XCTFail("python3 failed (is `hdrhistogram` installed? Scripts/setup.sh installs it): \(errors)")
            return []
        }
        return try XCTUnwrap(JSONSerialization.jsonObject(with: output) as? [[String: Any]])
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-hlog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
