// The `jepsen.util` log lines Jepsen prints while a test runs (porcupine's etcd test data):
//   INFO  jepsen.util - 3	:invoke	:cas	[3 0]
// Fields are separated by tabs, or (in some copies) by runs of spaces; the value is the rest of the line,
// read as EDN. Lines from other loggers carry no operation: they are counted (History.skippedLines),
// not parsed. A jepsen.util line without process, type, f and value is an error.

enum JepsenLogReader {
    static func operation(from line: UnsafeBufferPointer<UInt8>, line number: Int, position: Int) throws -> Operation? {
        let text = String(decoding: line, as: UTF8.self)
        guard let marker = text.range(of: " jepsen.util - ") else { return nil }
        let fields = text[marker.upperBound...].split(maxSplits: 3, whereSeparator: { $0 == "\t" || $0 == " " })
        guard fields.count == 4 else {
            throw ParseFailure(column: 1, expected: "four fields (process, type, f, value) after 'jepsen.util - '")
        }
        let process = try OperationDecoder.decodeProcess(.string(String(fields[0]).trimmingSpaces))
        let typeName = fields[1].hasPrefix(":") ? String(fields[1].dropFirst()) : String(fields[1])
        guard let type = OperationType(rawValue: typeName) else {
            throw ParseFailure(column: 1, expected: "type :invoke, :ok, :fail or :info, found '\(fields[1])'")
        }
        guard fields[2].hasPrefix(":"), fields[2].count > 1 else {
            throw ParseFailure(column: 1, expected: "f as a keyword, found '\(fields[2])'")
        }
        let valueBytes = Array(fields[3].utf8)   // leading separators are EDN whitespace
        let value = try valueBytes.withUnsafeBufferPointer { try EDNParser.parseLine($0) }
        return Operation(index: position, process: process, type: type, f: String(fields[2].dropFirst()), value: value,
                         line: number)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
