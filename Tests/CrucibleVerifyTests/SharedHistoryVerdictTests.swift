// Every history in ../shared/histories/verdicts.tsv gets its listed verdict.
import CrucibleVerify
import Foundation
import XCTest

/// `../shared` beside the package root (the root is two levels above this file's folder).
let sharedDirectory: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.deletingLastPathComponent().appendingPathComponent("shared").path
}()

final class SharedHistoryVerdictTests: XCTestCase {
    func testEveryListedHistoryGetsItsVerdict() throws {
        let histories = sharedDirectory + "/histories"
        let table = try String(contentsOfFile: histories + "/verdicts.tsv", encoding: .utf8)
        var checked = 0
        for row in table.split(separator: "\n").dropFirst() {
            let fields = row.split(separator: "\t").map(String.init)
            XCTAssertEqual(fields.count, 3, "malformed row \(row)")
            guard fields.count == 3 else { continue }
            let expected: Validity = fields[2] == "true" ? .valid : .invalid
            let report = try Check.file(histories + "/" + fields[0],
                                        options: CheckOptions(budget: SearchBudget(timeLimit: .seconds(20))))
            XCTAssertEqual(report.workload, fields[1] == "kv-append" ? .kv : .register, fields[0])
            XCTAssertEqual(report.analysis.validity, expected, fields[0])
            checked += 1
        }
        XCTAssertGreaterThan(checked, 100)
    }
}

/// The KV model with numbered values judges exactly as the one with strings: the same verdict, failing key,
/// longest prefix and blocking operation on every shared KV history.
final class InternedKVModelTests: XCTestCase {
    func testNumberedValuesJudgeAsStringsDo() throws {
        let directory = sharedDirectory + "/histories/porcupine-kv"
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".txt") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 6)
        for file in files {
            let history = try HistoryReader.read(path: directory + "/" + file, format: .porcupineKV)
            let partitions = try ModelHistories.kv(history)
            // Every key too, each within a step budget (a failing key's whole search can take minutes).
            for budget in [SearchBudget(), SearchBudget(maxSteps: 50_000, allKeys: true)] {
                let plain = LinearizabilityChecker.check(model: KVModel(), partitions: partitions, name: "kv", budget: budget)
                let interned = LinearizabilityChecker.check(InternedKVModel.interning(partitions), name: "kv", budget: budget)
                XCTAssertEqual(JSONWriter.string(interned.json()), JSONWriter.string(plain.json()), file)
            }
        }
    }
}
