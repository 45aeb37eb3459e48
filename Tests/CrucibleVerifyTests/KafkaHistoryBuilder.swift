// Small hand-made Kafka histories, written as the contract's JSONL and read back through the reader.
import CrucibleVerify

struct KafkaHistoryBuilder {
    private(set) var lines: [String] = []

    /// Index the next completion will get (its invoke takes the one before).
    var nextCompletion: Int { lines.count + 1 }

    private mutating func line(_ p: Int, _ type: String, _ f: String, _ value: String, _ extra: String = "") {
        let i = lines.count
        lines.append("{\"index\":\(i),\"time\":\(i * 1000),\"process\":\(p),\"type\":\"\(type)\",\"f\":\"\(f)\",\"value\":\(value)\(extra)}")
    }

    /// Appends invoke + completion; returns the completion's index (what witnesses name).
    @discardableResult
    mutating func op(_ p: Int, _ f: String, invoke: String, _ type: String, _ done: String, extra: String = "") -> Int {
        line(p, "invoke", f, invoke, extra)
        line(p, type, f, done, extra)
        return lines.count - 1
    }

    @discardableResult
    mutating func send(_ p: Int, _ k: Int, _ v: Int, at offset: Int?, _ type: String = "ok") -> Int {
        let done = type == "ok" ? "[[\"send\",\(k),[\(offset.map(String.init) ?? "null"),\(v)]]]" : "[[\"send\",\(k),\(v)]]"
        return op(p, "send", invoke: "[[\"send\",\(k),\(v)]]", type, done)
    }

    /// `reads`: key -> [(offset, value)], in the order returned.
    @discardableResult
    mutating func poll(_ p: Int, _ reads: [(Int, [(Int, Int)])], _ type: String = "ok", extra: String = "") -> Int {
        op(p, "poll", invoke: "[[\"poll\"]]", type, "[" + Self.pollMop(reads) + "]", extra: extra)
    }

    static func pollMop(_ reads: [(Int, [(Int, Int)])]) -> String {
        let body = reads.map { k, pairs in "\"\(k)\":[" + pairs.map { "[\($0.0),\($0.1)]" }.joined(separator: ",") + "]" }
        return "[\"poll\",{" + body.joined(separator: ",") + "}]"
    }

    static func sendMop(_ k: Int, _ v: Int, at offset: Int?) -> String {
        "[\"send\",\(k),[\(offset.map(String.init) ?? "null"),\(v)]]"
    }

    @discardableResult
    mutating func txn(_ p: Int, _ mops: [String], _ type: String = "ok") -> Int {
        op(p, "txn", invoke: "[" + mops.map { $0.hasPrefix("[\"poll\"") ? "[\"poll\"]" : $0 }.joined(separator: ",") + "]",
           type, "[" + mops.joined(separator: ",") + "]")
    }

    @discardableResult
    mutating func assign(_ p: Int, _ keys: [Int], f: String = "assign", seekToBeginning: Bool = false) -> Int {
        let value = "[" + keys.map(String.init).joined(separator: ",") + "]"
        return op(p, f, invoke: value, "ok", value, extra: seekToBeginning ? ",\"seek-to-beginning?\":true" : "")
    }

    var text: String { lines.joined(separator: "\n") + "\n" }

    func check(_ options: KafkaCheckOptions = KafkaCheckOptions()) throws -> Analysis {
        try KafkaChecker.check(HistoryReader.parse(text: text, source: "test.jsonl"), options: options)
    }
}
