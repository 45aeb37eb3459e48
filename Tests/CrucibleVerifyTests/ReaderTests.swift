// The readers: JSONL, EDN and jepsen-log into one model; malformed input names file and line.
import CrucibleVerify
import XCTest

final class ReaderTests: XCTestCase {
    func testJSONLContractExample() throws {
        let text = """
        {"index":0,"time":1000,"process":0,"type":"invoke","f":"send","value":[["send",3,17]]}
        {"index":1,"time":2000,"process":0,"type":"ok","f":"send","value":[["send",3,[42,17]]]}
        {"index":2,"time":3000,"process":1,"type":"invoke","f":"poll","value":[["poll"]]}
        {"index":3,"time":4000,"process":1,"type":"ok","f":"poll","value":[["poll",{"3":[[41,16],[42,17]]}]]}
        {"index":4,"time":5000,"process":"nemesis","type":"info","f":"kill","value":"n2"}
        """
        let h = try HistoryReader.parse(text: text, source: "h.jsonl")
        XCTAssertEqual(h.count, 5)
        XCTAssertEqual(h[4].process, .named("nemesis"))
        XCTAssertEqual(h.completion(of: 0), 1)
        XCTAssertEqual(try KafkaHistoryDecoder.decode(h).count, 2)
    }

    func testEDNKafkaHistory() throws {
        let text = """
        {:index 0, :time 10, :type :invoke, :process 0, :f :send, :value [[:send 3 17]]}
        {:index 1, :time 20, :type :ok, :process 0, :f :send, :value [[:send 3 [42 17]]]}
        {:index 2, :time 30, :type :invoke, :process 1, :f :assign, :value [3], :seek-to-beginning? true}
        {:index 3, :time 40, :type :ok, :process 1, :f :assign, :value [3], :seek-to-beginning? true}
        {:index 4, :time 50, :type :invoke, :process 1, :f :poll, :value [[:poll]]}
        {:index 5, :time 60, :type :ok, :process 1, :f :poll, :value [[:poll {3 [[42 17]]}]], :tags #{:x "y"}, :n nil}
        """
        let h = try HistoryReader.parse(text: text, source: "history.edn")
        let analysis = try KafkaChecker.check(h)
        XCTAssertEqual(analysis.validity, .valid)
        XCTAssertEqual(analysis.anomalyTypes, [])
        let ops = try KafkaHistoryDecoder.decode(h)
        XCTAssertTrue(ops[1].seeksToBeginning)
    }

    func testEDNRegisterAndKVAreDetected() throws {
        let register = """
        {:process 0, :type :invoke, :f :write, :value 1}
        {:process 0, :type :ok, :f :write, :value 1}
        {:process 1, :type :invoke, :f :read, :value nil}
        {:process 1, :type :ok, :f :read, :value 1}
        """
        let r = try Check.history(HistoryReader.parse(text: register, source: "r.edn"))
        XCTAssertEqual(r.workload, .register)
        XCTAssertEqual(r.analysis.validity, .valid)
        let kv = """
        {:process 0, :type :invoke, :f :append, :key "a", :value "x"}
        {:process 0, :type :ok, :f :append, :key "a", :value "x"}
        {:process 1, :type :invoke, :f :get, :key "a", :value nil}
        {:process 1, :type :ok, :f :get, :key "a", :value "y"}
        """
        let k = try Check.history(HistoryReader.parse(text: kv, source: "kv.txt", format: .porcupineKV))
        XCTAssertEqual(k.workload, .kv)
        XCTAssertEqual(k.analysis.validity, .invalid)
    }

    func testJepsenLogWithTabsOrSpacesAndOtherLoggers() throws {
        let text = "INFO  jepsen.core - starting\n"
            + "INFO  jepsen.util - 0\t:invoke\t:cas\t[nil 3]\n".replacingOccurrences(of: "nil", with: "1")
            + "INFO  jepsen.util - 0   :fail   :cas    [1 3]\n"
            + "INFO  jepsen.util - 1\t:invoke\t:read\tnil\n"
            + "INFO  jepsen.util - 1\t:ok\t:read\tnil\n"
        let h = try HistoryReader.parse(text: text, source: "etcd.log")
        XCTAssertEqual(h.count, 4)
        XCTAssertEqual(h.skippedLines, 1)
        XCTAssertEqual(try Check.history(h).analysis.validity, .valid)
    }

    func testMalformedLinesNameFileLineAndExpectation() {
        let cases: [(String, String, String)] = [
            ("{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"send\",\"value\":[]}\n{\"index\":1,", "h.jsonl", "h.jsonl:2: expected"),
            ("{\"process\":0,\"type\":\"maybe\",\"f\":\"read\"}", "h.jsonl", "h.jsonl:1: expected type"),
            ("{:process 0, :type :invoke, :f :read, :value [1 2}", "h.edn", "h.edn:1: expected"),
            ("INFO  jepsen.util - 0\t:invoke\n", "e.log", "e.log:1: expected four fields"),
            ("{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":1}", "h.jsonl", "h.jsonl:1: expected an invoke"),
        ]
        for (text, source, prefix) in cases {
            XCTAssertThrowsError(try HistoryReader.parse(text: text, source: source)) { error in
                XCTAssertTrue("\(error)".hasPrefix(prefix), "\(error)")
            }
        }
    }

    func testMalformedKafkaValueIsAnErrorNotASkip() throws {
        var h = KafkaHistoryBuilder()
        h.op(0, "send", invoke: "[[\"send\",0,\"x\"]]", "ok", "[[\"send\",0,[0,\"x\"]]]")
        XCTAssertThrowsError(try h.check()) { error in
            XCTAssertTrue("\(error)".hasPrefix("test.jsonl:2: expected"), "\(error)")
        }
    }

    func testFormatDetection() {
        XCTAssertEqual(HistoryFormat.detect(path: "x/history.jsonl", firstLine: nil), .jsonl)
        XCTAssertEqual(HistoryFormat.detect(path: "x/history.edn", firstLine: nil), .edn)
        XCTAssertEqual(HistoryFormat.detect(path: "c01-ok.txt", firstLine: "{:process 0, :type :invoke}"), .edn)
        XCTAssertEqual(HistoryFormat.detect(path: "h", firstLine: "{\"index\":0}"), .jsonl)
        XCTAssertEqual(HistoryFormat.detect(path: "etcd_000.log", firstLine: "INFO  jepsen.util - 0\t:invoke"), .jepsenLog)
        XCTAssertNil(HistoryFormat.detect(path: "h", firstLine: "hello"))
    }
}
