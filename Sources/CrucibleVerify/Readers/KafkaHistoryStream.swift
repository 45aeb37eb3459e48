// A Kafka-queue history read for its verdict alone: line by line, each operation decoded into its compact
// `KafkaOperation` as it arrives and paired with its invoke there and then, so neither the file nor its value
// trees are ever held whole (a million-operation history is hundreds of megabytes of JSON). It yields exactly
// what `KafkaHistoryDecoder.decode` yields from the whole `History`, with the same errors for the same lines.

/// The operations of a streamed Kafka history, and how many history entries it had.
public struct StreamedKafkaHistory: Sendable {
    public var operations: [KafkaOperation]
    public var entries: Int
}

enum KafkaHistoryStream {
    /// nil when the history is not one this can stream: a format other than JSONL or EDN, or a workload (given, or
    /// that of its first client operation naming one) other than Kafka's.
    static func read(path: String, format: HistoryFormat?, workload: Workload?) throws -> StreamedKafkaHistory? {
        guard workload == nil || workload == .kafka else { return nil }
        var pairing = Pairing(source: path)
        var chosen = format
        var isKafka = workload == .kafka
        var decided = isKafka
        try LineReader.forEachLine(path: path) { line, number in
            guard !isBlank(line) else { return true }
            if chosen == nil {
                chosen = HistoryFormat.detect(path: path, firstLine: String(decoding: line, as: UTF8.self))
                guard chosen != nil else {
                    throw HistoryReadError(file: path, line: number, expected: "a recognisable history (JSONL, EDN or jepsen-log); pass --format")
                }
            }
            let value: Value
            do {
                switch chosen! {
                case .jsonl: value = try JSONParser.parseLine(line)
                case .edn: value = try EDNParser.parseLine(line)
                case .porcupineKV, .jepsenLog: decided = true; isKafka = false; return false
                }
                let op = try OperationDecoder.operation(from: value, line: number, position: pairing.position)
                if !decided, op.process.isClient, let named = Workload.named(by: op.f) {
                    decided = true
                    isKafka = named == .kafka
                    if !isKafka { return false }
                }
                try pairing.take(op)
            } catch let failure as ParseFailure {
                throw HistoryReadError(file: path, line: number, expected: failure.expected)
            }
            return true
        }
        guard decided && isKafka else { return nil }
        return StreamedKafkaHistory(operations: try pairing.finish(), entries: pairing.position)
    }

    private static func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        line.allSatisfy { $0 == 32 || $0 == 9 || $0 == 13 }
    }

    /// `History.pair` and `KafkaHistoryDecoder.decode` in one pass: each client's open invoke is kept until its
    /// completion; one never completed is an indeterminate operation at its own position.
    struct Pairing {
        let source: String
        private(set) var position = 0
        /// Each process's invoke still waiting for its completion, and where it was.
        private var open: [Process: (invoke: Operation, position: Int)] = [:]
        private var completed: [KafkaOperation] = []

        init(source: String) { self.source = source }

        mutating func take(_ op: Operation) throws {
            defer { position += 1 }
            if op.type == .invoke {
                if op.process.isClient, let previous = open[op.process] {
                    throw HistoryReadError(file: source, line: op.line,
                                           expected: "a completion for process \(op.process)'s invoke at line \(previous.invoke.line) before its next invoke")
                }
                open[op.process] = (op, position)
                return
            }
            let invoke = open.removeValue(forKey: op.process)?.invoke
            guard op.process.isClient else { return }
            guard let invoke else {
                throw HistoryReadError(file: source, line: op.line, expected: "an invoke by process \(op.process) before this :\(op.type)")
            }
            guard let f = KafkaFunction(rawValue: op.f), f != .other else {
                if op.type == .info {
                    completed.append(KafkaOperation(position: position, index: op.index, process: op.process, type: .info,
                                                    f: .other, mops: [], keys: [], rebalancedKeys: [], seeksToBeginning: false))
                }
                return
            }
            // A failed or crashed completion may not repeat the invoke's value; the invoke's stands in.
            var source = op
            if op.value.isNull { source.value = invoke.value; source.key = nil }
            completed.append(try KafkaHistoryDecoder.decode(source, position: position, type: op.type, f: f, file: self.source))
        }

        /// The operations in history order, with every client invoke never completed as indeterminate.
        mutating func finish() throws -> [KafkaOperation] {
            var unanswered: [KafkaOperation] = []
            for (process, (invoke, at)) in open where process.isClient {
                guard let f = KafkaFunction(rawValue: invoke.f), f != .other else { continue }
                unanswered.append(try KafkaHistoryDecoder.decode(invoke, position: at, type: .info, f: f, file: source))
            }
            guard !unanswered.isEmpty else { return completed }
            return (completed + unanswered).sorted { $0.position < $1.position }
        }
    }
}
