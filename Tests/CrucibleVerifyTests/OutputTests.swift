// analysis.json, the text summary and the HTML view.
import CrucibleVerify
import Foundation
import XCTest

final class OutputTests: XCTestCase {
    private func lostWriteReport() throws -> CheckReport {
        let ops = KafkaSimulation(operations: 60, processes: 3, keys: 2, fault: .lostWrite).run(seed: 3)
        return try Check.history(History(operations: ops, source: "lost.jsonl"))
    }

    func testAnalysisJSONFollowsTheContract() throws {
        let report = try lostWriteReport()
        let text = JSONWriter.string(report.analysis.json())
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(object["valid"] as? Bool, false)
        let types = try XCTUnwrap(object["anomaly-types"] as? [String])
        XCTAssertTrue(types.contains("lost-write"))
        let anomalies = try XCTUnwrap(object["anomalies"] as? [String: [[String: Any]]])
        let witness = try XCTUnwrap(anomalies["lost-write"]?.first)
        XCTAssertEqual((witness["ops"] as? [Int])?.count, 2)
        XCTAssertNotNil(object["stats"] as? [String: Any])
        XCTAssertEqual(Validity.unknown.exitCode, 3)
    }

    func testUnknownIsWrittenAsTheStringUnknown() {
        let a = Analysis(checker: "x", validity: .unknown, anomalies: [])
        XCTAssertTrue(JSONWriter.string(a.json(), pretty: false).hasPrefix("{\"valid\":\"unknown\""))
    }

    func testSummaryFitsOnOneScreen() throws {
        let summary = TextSummary.render(try lostWriteReport())
        XCTAssertTrue(summary.contains("INVALID"))
        XCTAssertTrue(summary.contains("lost-write"))
        XCTAssertLessThan(summary.split(separator: "\n").count, 40)
    }

    func testHTMLIsSelfContainedAndMarksWitnesses() throws {
        let report = try lostWriteReport()
        let html = HTMLView.render(report)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains("<svg"))
        XCTAssertFalse(html.contains("src="), "no external assets")
        XCTAssertFalse(html.contains("href="), "no external assets")
        let lost = try XCTUnwrap(report.analysis.anomalies(ofType: "lost-write").first)
        XCTAssertTrue(html.contains("witness of: "))
        XCTAssertTrue(html.contains(">\(lost.ops[0])"), "the writer's index labels its bar or row")
    }
}
