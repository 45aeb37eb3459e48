// Histories from a correct simulated log are always valid; each single planted fault is always caught
// with the right anomaly type.
import CrucibleVerify
import XCTest

final class KafkaPropertyTests: XCTestCase {
    func testCorrectLogsAreAlwaysValid() throws {
        for seed in UInt64(1)...200 {
            let ops = KafkaSimulation(operations: 300, processes: 4, keys: 3).run(seed: seed)
            let analysis = try KafkaChecker.check(History(operations: ops))
            XCTAssertEqual(analysis.validity, .valid, "seed \(seed): \(analysis.badAnomalyTypes) "
                + "\(analysis.anomalies.prefix(3).map { JSONWriter.string($0.witness, pretty: false) })")
            if analysis.validity != .valid { return }
        }
    }

    func testEachPlantedFaultIsCaught() throws {
        for fault in KafkaFault.allCases {
            for seed in UInt64(1)...60 {
                let ops = KafkaSimulation(operations: 200, processes: 4, keys: 3, fault: fault).run(seed: seed)
                let analysis = try KafkaChecker.check(History(operations: ops))
                XCTAssertEqual(analysis.validity, .invalid, "\(fault) seed \(seed) not caught")
                XCTAssertTrue(analysis.anomalyTypes.contains(fault.expectedAnomaly),
                              "\(fault) seed \(seed): found \(analysis.anomalyTypes)")
                if !analysis.anomalyTypes.contains(fault.expectedAnomaly) { return }
            }
        }
    }

    func testSimulatedHistoriesRoundTripThroughJSONL() throws {
        let ops = KafkaSimulation(operations: 100).run(seed: 7)
        let text = HistoryWriter.jsonl(ops)
        let history = try HistoryReader.parse(text: text, source: "sim.jsonl")
        XCTAssertEqual(history.count, ops.count)
        XCTAssertEqual(try KafkaChecker.check(history).validity, .valid)
    }
}
