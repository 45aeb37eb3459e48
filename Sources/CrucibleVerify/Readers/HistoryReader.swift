// Reads a history file in any supported format into the one History model.
import Foundation

public enum HistoryFormat: String, CaseIterable, Sendable {
    /// The contract's history.jsonl.
    case jsonl
    /// Jepsen's history.edn, one map per line.
    case edn
    /// `jepsen.util` log lines: `INFO  jepsen.util - 3\t:invoke\t:read\tnil`.
    case jepsenLog = "jepsen-log"
    /// Porcupine's KV test data: EDN maps without index or time; read by the EDN reader.
    case porcupineKV = "porcupine-kv"

    /// Guesses the format from the extension, then from the first non-blank line.
    public static func detect(path: String, firstLine: String?) -> HistoryFormat? {
        let lower = path.lowercased()
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".json") { return .jsonl }
        if lower.hasSuffix(".edn") { return .edn }
        guard let line = firstLine?.trimmingCharacters(in: .whitespaces) else { return nil }
        if line.hasPrefix("{\"") || line == "{}" { return .jsonl }
        if line.hasPrefix("{") { return .edn }
        let levels = ["TRACE ", "DEBUG ", "INFO ", "WARN ", "ERROR ", "FATAL "]
        if line.contains(" jepsen.util - ") || levels.contains(where: line.hasPrefix) { return .jepsenLog }
        return nil
    }
}

public enum HistoryReader {
    /// Reads and pairs a history. Throws HistoryReadError naming file and line for anything malformed.
    public static func read(path: String, format: HistoryFormat? = nil) throws -> History {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HistoryReadError(file: path, line: 0, expected: "a readable file")
        }
        return try parse(data: data, source: path, format: format)
    }

    public static func parse(text: String, source: String = "history", format: HistoryFormat? = nil) throws -> History {
        try parse(data: Data(text.utf8), source: source, format: format)
    }

    public static func parse(data: Data, source: String, format: HistoryFormat?) throws -> History {
        // Parse in place: a history can be hundreds of megabytes, so no copy of the bytes.
        return try data.withUnsafeBytes { raw in
            let buffer = raw.bindMemory(to: UInt8.self)
            let lines = splitLines(buffer)
            let chosen: HistoryFormat
            if let format {
                chosen = format
            } else {
                let first = lines.first { !isBlank(buffer, $0) }.map {
                    String(decoding: UnsafeBufferPointer(rebasing: buffer[$0]), as: UTF8.self)
                }
                guard first != nil else { throw HistoryReadError(file: source, line: 0, expected: "at least one operation") }
                guard let detected = HistoryFormat.detect(path: source, firstLine: first) else {
                    throw HistoryReadError(file: source, line: 1,
                                           expected: "a recognisable history (JSONL, EDN or jepsen-log); pass --format")
                }
                chosen = detected
            }
            var operations: [Operation] = []
            operations.reserveCapacity(lines.count)
            var skipped = 0
            for (n, range) in lines.enumerated() {
                let lineNumber = n + 1
                if isBlank(buffer, range) { continue }
                let line = UnsafeBufferPointer(rebasing: buffer[range])
                do {
                    let op: Operation?
                    switch chosen {
                    case .jsonl:
                        op = try OperationDecoder.operation(from: JSONParser.parseLine(line), line: lineNumber,
                                                            position: operations.count)
                    case .edn, .porcupineKV:
                        op = try OperationDecoder.operation(from: EDNParser.parseLine(line), line: lineNumber,
                                                            position: operations.count)
                    case .jepsenLog:
                        op = try JepsenLogReader.operation(from: line, line: lineNumber, position: operations.count)
                    }
                    if let op { operations.append(op) } else { skipped += 1 }
                } catch let failure as ParseFailure {
                    throw HistoryReadError(file: source, line: lineNumber, expected: failure.expected)
                }
            }
            return try History(operations: operations, source: source, skippedLines: skipped)
        }
    }

    private static func splitLines(_ buffer: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var lines: [Range<Int>] = []
        var start = 0
        for i in 0..<buffer.count where buffer[i] == 10 {
            lines.append(start..<i)
            start = i + 1
        }
        if start < buffer.count { lines.append(start..<buffer.count) }
        return lines
    }

    private static func isBlank(_ buffer: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        for i in range where !(buffer[i] == 32 || buffer[i] == 9 || buffer[i] == 13) { return false }
        return true
    }
}

/// Turns a parsed map (JSON object or EDN map) into an Operation.
enum OperationDecoder {
    static func operation(from value: Value, line: Int, position: Int) throws -> Operation {
        guard case .map(let entries) = value else { throw ParseFailure(column: 1, expected: "a map per line") }
        var index: Int?
        var time: Int?
        var process: Process?
        var type: OperationType?
        var f: String?
        var payload: Value = .null
        var key: Value?
        var extra: [Value.MapEntry] = []
        for entry in entries {
            switch entry.key.name {
            case "index": index = entry.value.intValue
            case "time": time = entry.value.intValue
            case "process": process = try decodeProcess(entry.value)
            case "type":
                guard let name = entry.value.name, let t = OperationType(rawValue: name) else {
                    throw ParseFailure(column: 1, expected: "type invoke, ok, fail or info, found \(entry.value)")
                }
                type = t
            case "f":
                guard let name = entry.value.name else { throw ParseFailure(column: 1, expected: "f to be a name, found \(entry.value)") }
                f = name
            case "value": payload = entry.value
            case "key": key = entry.value
            default: extra.append(entry)
            }
        }
        guard let type else { throw ParseFailure(column: 1, expected: "a type field") }
        guard let f else { throw ParseFailure(column: 1, expected: "an f field") }
        guard let process else { throw ParseFailure(column: 1, expected: "a process field") }
        return Operation(index: index ?? position, time: time, process: process, type: type, f: f, value: payload,
                         key: key, extra: extra, line: line)
    }

    static func decodeProcess(_ value: Value) throws -> Process {
        switch value {
        case .int(let p): return .client(p)
        case .string(let s), .keyword(let s): return Int(s).map(Process.client) ?? .named(s)
        default: throw ParseFailure(column: 1, expected: "process to be an integer or a name, found \(value)")
        }
    }
}
