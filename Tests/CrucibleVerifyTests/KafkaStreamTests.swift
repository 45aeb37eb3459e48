// A Kafka history streamed from its file is judged exactly as the same history read whole: the same analysis,
// witnesses and all, and the same errors on the same lines.
@testable import CrucibleVerify
import Foundation
import XCTest

final class KafkaStreamTests: XCTestCase {
    private func file(_ text: String, _ name: String = "history.jsonl") throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stream-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func bothWays(_ path: String) throws -> (streamed: CheckReport, whole: CheckReport) {
        let streamed = try Check.file(path)
        let whole = try Check.file(path, options: CheckOptions(keepHistory: true))
        XCTAssertNil(streamed.history, "a Kafka history is streamed unless asked to be kept")
        XCTAssertNotNil(whole.history)
        return (streamed, whole)
    }

    func testStreamedAndWholeHistoriesGetTheSameAnalysis() throws {
        var cases: [(String, [CrucibleVerify.Operation])] = (1...5).map { ("valid seed \($0)", KafkaSimulation(operations: 300, processes: 4).run(seed: $0)) }
        for fault in KafkaFault.allCases {
            cases.append(("\(fault)", KafkaSimulation(operations: 200, processes: 4, fault: fault).run(seed: 3)))
        }
        for (name, ops) in cases {
            let (streamed, whole) = try bothWays(try file(HistoryWriter.jsonl(ops)))
            XCTAssertEqual(JSONWriter.string(streamed.analysis.json()), JSONWriter.string(whole.analysis.json()), name)
            XCTAssertEqual(streamed.entries, whole.entries, name)
            XCTAssertEqual(streamed.workload, Workload.kafka)
        }
    }

    func testUnansweredInvokesAndValuelessCompletionsAsWhenReadWhole() throws {
        // Process 0's send fails without repeating its value; process 1's poll never completes; the nemesis
        // comes and goes between; process 2 crashes on an operation of another kind.
        let text = """
            {"index":0,"process":0,"type":"invoke","f":"send","value":[["send",1,5]]}
            {"index":1,"process":"nemesis","type":"invoke","f":"kill","value":null}
            {"index":2,"process":1,"type":"invoke","f":"poll","value":[["poll"]]}
            {"index":3,"process":0,"type":"fail","f":"send","value":null}
            {"index":4,"process":"nemesis","type":"info","f":"kill","value":"n1"}
            {"index":5,"process":2,"type":"invoke","f":"crash","value":null}
            {"index":6,"process":2,"type":"info","f":"crash","value":null}
            {"index":7,"process":0,"type":"invoke","f":"send","value":[["send",1,6]]}
            {"index":8,"process":0,"type":"ok","f":"send","value":[["send",1,[0,6]]]}

            """
        let (streamed, whole) = try bothWays(try file(text))
        XCTAssertEqual(JSONWriter.string(streamed.analysis.json()), JSONWriter.string(whole.analysis.json()))
        let operations = try XCTUnwrap(KafkaHistoryStream.read(path: try file(text), format: nil, workload: nil)).operations
        let decoded = try KafkaHistoryDecoder.decode(HistoryReader.parse(text: text, source: "x.jsonl"))
        XCTAssertEqual(operations.map(\.position), decoded.map(\.position))
        XCTAssertEqual(operations.map(\.type), decoded.map(\.type))
        XCTAssertEqual(operations.map { "\($0.mops)" }, decoded.map { "\($0.mops)" })
        XCTAssertEqual(operations.map(\.position), [2, 3, 6, 8], "the unanswered poll keeps its own place")
    }

    func testBrokenHistoriesFailOnTheSameLineWithTheSameWords() throws {
        let cases = [
            // A completion nobody invoked.
            "{\"index\":0,\"process\":0,\"type\":\"ok\",\"f\":\"send\",\"value\":[[\"send\",1,[0,5]]]}\n",
            // Two invokes in a row by one client.
            "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"send\",\"value\":[[\"send\",1,5]]}\n"
                + "{\"index\":1,\"process\":0,\"type\":\"invoke\",\"f\":\"send\",\"value\":[[\"send\",1,6]]}\n",
            // Not JSON.
            "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"send\",\"value\":[[\"send\",1,5]]}\n{\"index\":1,\n",
            // A micro-op that is not one.
            "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"send\",\"value\":[[\"write\",1,5]]}\n"
                + "{\"index\":1,\"process\":0,\"type\":\"ok\",\"f\":\"send\",\"value\":[[\"write\",1,5]]}\n",
        ]
        for text in cases {
            let path = try file(text)
            try XCTAssertThrowsError(try Check.file(path)) { streamed in
                XCTAssertThrowsError(try Check.file(path, options: CheckOptions(keepHistory: true))) { whole in
                    XCTAssertEqual("\(streamed)", "\(whole)", text)
                }
            }
        }
    }

    func testOtherWorkloadsAndFormatsAreReadWhole() throws {
        let register = try file("""
            {"index":0,"process":0,"type":"invoke","f":"write","value":1}
            {"index":1,"process":0,"type":"ok","f":"write","value":1}

            """)
        XCTAssertNil(try KafkaHistoryStream.read(path: register, format: nil, workload: nil))
        let report = try Check.file(register)
        XCTAssertEqual(report.workload, .register)
        XCTAssertNotNil(report.history)
    }

    func testLinesLongerThanTheReadBufferAndNoFinalNewline() throws {
        // One poll of thousands of records is one long line; the last line has no newline.
        let ops = KafkaSimulation(operations: 50, processes: 2).run(seed: 9)
        var text = HistoryWriter.jsonl(ops)
        text.removeLast()
        let path = try file(text)
        var lines = 0
        try LineReader.forEachLine(path: path) { _, number in
            lines = number
            return true
        }
        XCTAssertEqual(lines, ops.count)
        let padded = try file(String(repeating: " ", count: LineReader.chunkBytes + 10) + "x\ny")
        var seen: [String] = []
        try LineReader.forEachLine(path: padded) { line, _ in
            seen.append(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespaces))
            return true
        }
        XCTAssertEqual(seen, ["x", "y"])
    }
}
