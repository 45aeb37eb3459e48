// The linearizability search on small histories: indeterminate operations, cas, per-key partitioning,
// budgets and failure reports.
import CrucibleVerify
import XCTest

final class LinearizabilityTests: XCTestCase {
    /// A register history in jepsen-log form: (process, type, f, value) per line.
    private func register(_ rows: [(Int, String, String, String)]) throws -> CheckReport {
        let text = rows.map { "INFO  jepsen.util - \($0.0)\t:\($0.1)\t:\($0.2)\t\($0.3)" }.joined(separator: "\n")
        return try Check.history(HistoryReader.parse(text: text, source: "r.log"))
    }

    func testSequentialRegister() throws {
        let r = try register([(0, "invoke", "write", "1"), (0, "ok", "write", "1"),
                              (1, "invoke", "cas", "[1 2]"), (1, "ok", "cas", "[1 2]"),
                              (0, "invoke", "read", "nil"), (0, "ok", "read", "2")])
        XCTAssertEqual(r.analysis.validity, .valid)
    }

    func testStaleReadIsNotLinearizable() throws {
        let r = try register([(0, "invoke", "write", "1"), (0, "ok", "write", "1"),
                              (1, "invoke", "read", "nil"), (1, "ok", "read", "nil")])
        XCTAssertEqual(r.analysis.validity, .invalid)
        let a = r.analysis.anomalies[0]
        XCTAssertEqual(a.type, "nonlinearizable")
        XCTAssertEqual(a.detail("longest-linearizable-prefix"), .vector([.int(1)]))   // completion indexes
        XCTAssertEqual(a.detail("cannot-linearize"), .int(3))
    }

    func testConcurrentOperationsMayOrderEitherWay() throws {
        let r = try register([(0, "invoke", "write", "1"), (1, "invoke", "read", "nil"),
                              (1, "ok", "read", "nil"), (0, "ok", "write", "1")])
        XCTAssertEqual(r.analysis.validity, .valid)
    }

    func testIndeterminateWriteMayTakeEffectLaterOrNever() throws {
        let later = try register([(0, "invoke", "write", "1"), (0, "info", "write", ":timed-out"),
                                  (1, "invoke", "read", "nil"), (1, "ok", "read", "nil"),
                                  (1, "invoke", "read", "nil"), (1, "ok", "read", "1")])
        XCTAssertEqual(later.analysis.validity, .valid)
        let never = try register([(0, "invoke", "write", "1"), (1, "invoke", "read", "nil"), (1, "ok", "read", "nil")])
        XCTAssertEqual(never.analysis.validity, .valid)
        // But not before its invocation.
        let before = try register([(1, "invoke", "read", "nil"), (1, "ok", "read", "1"),
                                   (0, "invoke", "write", "1"), (0, "info", "write", ":timed-out")])
        XCTAssertEqual(before.analysis.validity, .invalid)
    }

    func testFailedCasCertainlyDidNotHappen() throws {
        let r = try register([(0, "invoke", "write", "1"), (0, "ok", "write", "1"),
                              (1, "invoke", "cas", "[1 2]"), (1, "fail", "cas", "[1 2]"),
                              (0, "invoke", "read", "nil"), (0, "ok", "read", "2")])
        XCTAssertEqual(r.analysis.validity, .invalid)
        let failedRead = try register([(0, "invoke", "read", "nil"), (0, "fail", "read", ":timed-out")])
        XCTAssertEqual(failedRead.analysis.validity, .valid)
    }

    func testKVPartitionsByKeyAndNamesSmallestFailingKey() throws {
        var lines: [String] = []
        func op(_ p: Int, _ f: String, _ k: String, _ v: String, _ out: String) {
            lines.append("{:process \(p), :type :invoke, :f :\(f), :key \"\(k)\", :value \(f == "get" ? "nil" : "\"\(v)\"")}")
            lines.append("{:process \(p), :type :ok, :f :\(f), :key \"\(k)\", :value \"\(out)\"}")
        }
        for i in 0..<5 { op(0, "append", "big", "\(i)", "\(i)") }
        op(1, "get", "big", "", "0124")               // misses 3: fails, 6 ops
        op(0, "put", "small", "a", "a")
        op(1, "get", "small", "", "b")                 // fails, 2 ops
        op(2, "append", "fine", "z", "z")
        op(2, "get", "fine", "", "z")
        let r = try Check.history(HistoryReader.parse(text: lines.joined(separator: "\n"), source: "kv.txt"))
        XCTAssertEqual(r.analysis.validity, .invalid)
        XCTAssertEqual(r.analysis.anomalies.first?.key, .string("small"))
        XCTAssertEqual(r.analysis.stats.first { $0.key == .string("smallest-failing-key") }?.value, .string("small"))
    }

    func testBudgetGivesUnknownNeverAWrongAnswer() throws {
        // Many concurrent indeterminate writes and reads that can only be explained late in the search.
        var rows: [(Int, String, String, String)] = []
        for p in 0..<14 { rows.append((p, "invoke", "write", "\(p)")) }
        for p in 0..<14 { rows.append((p, "info", "write", ":timed-out")) }
        for p in 20..<22 { rows.append((p, "invoke", "read", "nil")); rows.append((p, "ok", "read", "99")) }
        let text = rows.map { "INFO  jepsen.util - \($0.0)\t:\($0.1)\t:\($0.2)\t\($0.3)" }.joined(separator: "\n")
        let h = try HistoryReader.parse(text: text, source: "r.log")
        let limited = try Check.history(h, options: CheckOptions(budget: SearchBudget(maxSteps: 1000)))
        XCTAssertEqual(limited.analysis.validity, .unknown)
        XCTAssertEqual(limited.analysis.validity.exitCode, 3)
    }
}
