// Unreadable input is an error that names file, line and what was expected: never a silent skip.

public struct HistoryReadError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let line: Int
    public let expected: String

    public init(file: String, line: Int, expected: String) {
        self.file = file
        self.line = line
        self.expected = expected
    }

    public var description: String {
        line > 0 ? "\(file):\(line): expected \(expected)" : "\(file): expected \(expected)"
    }
}
