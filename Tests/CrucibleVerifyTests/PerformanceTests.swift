// Figures for docs/PERFORMANCE.md. Skipped unless CRUCIBLE_PERF=1, so the normal suite stays
// fast; run in release: CRUCIBLE_PERF=1 swift test -c release --filter PerformanceTests
import CrucibleVerify
import Foundation
import XCTest

final class PerformanceTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["CRUCIBLE_PERF"] == "1", "set CRUCIBLE_PERF=1")
    }

    private func seconds(_ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try body()
        let d = (clock.now - start).components
        return Double(d.seconds) + Double(d.attoseconds) / 1e18
    }

    func testHandWrittenJSONParserAgainstJSONSerialization() throws {
        let ops = KafkaSimulation(operations: 200_000, processes: 10, keys: 8).run(seed: 1)
        let lines = ops.map(HistoryWriter.jsonl)
        let text = lines.joined(separator: "\n")
        let bytes = text.utf8.count
        var ours = 0.0, foundation = 0.0
        ours = try seconds { _ = try HistoryReader.parse(text: text, source: "bench.jsonl") }
        let datas = lines.map { Data($0.utf8) }
        foundation = try seconds { for d in datas { _ = try JSONSerialization.jsonObject(with: d) } }
        print("PERF parse \(lines.count) lines (\(bytes / 1_000_000) MB): hand-written reader \(ours) s "
            + "(full History, pairing included); JSONSerialization alone \(foundation) s")
    }

    func testAllSharedHistories() throws {
        let histories = sharedDirectory + "/histories"
        let table = try String(contentsOfFile: histories + "/verdicts.tsv", encoding: .utf8)
        var count = 0
        let total = try seconds {
            for row in table.split(separator: "\n").dropFirst() {
                let file = String(row.split(separator: "\t")[0])
                _ = try Check.file(histories + "/" + file)
                count += 1
            }
        }
        print("PERF shared histories: \(count) files checked in \(total) s")
    }
}
