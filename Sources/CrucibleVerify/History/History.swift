// A history: operations in the order they happened, with each invocation paired to its completion.

public struct History: Sendable {
    public let operations: [Operation]
    /// Where the history came from, for messages.
    public let source: String
    /// For each position: the position of the matching completion (for an invoke) or invocation (for a
    /// completion); nil when there is none (a crashed client's invoke, a nemesis event).
    public let partner: [Int?]
    /// Lines of the source that carried no operation (a jepsen-log's other loggers), reported in stats.
    public let skippedLines: Int

    public init(operations: [Operation], source: String = "history", skippedLines: Int = 0) throws {
        self.operations = operations
        self.source = source
        self.skippedLines = skippedLines
        self.partner = try History.pair(operations, source: source)
    }

    /// A history of nothing, from `source`.
    static func empty(_ source: String) -> History {
        History(operations: [], source: source, skippedLines: 0, partner: [])
    }

    private init(operations: [Operation], source: String, skippedLines: Int, partner: [Int?]) {
        self.operations = operations
        self.source = source
        self.skippedLines = skippedLines
        self.partner = partner
    }

    public var count: Int { operations.count }
    public subscript(position: Int) -> Operation { operations[position] }

    /// Completion position of the invoke at `position`, if it completed.
    public func completion(of position: Int) -> Int? {
        operations[position].type == .invoke ? partner[position] : nil
    }

    /// Invocation position of the completion at `position`, if it has one.
    public func invocation(of position: Int) -> Int? {
        operations[position].type == .invoke ? nil : partner[position]
    }

    /// A client process has at most one operation in flight: each completion closes the invoke before it.
    /// A client completion with nothing open is a broken history, so it is an error rather than a guess.
    private static func pair(_ ops: [Operation], source: String) throws -> [Int?] {
        var partner = [Int?](repeating: nil, count: ops.count)
        var open: [Process: Int] = [:]
        for (position, op) in ops.enumerated() {
            if op.type == .invoke {
                if let previous = open[op.process], op.process.isClient {
                    throw HistoryReadError(file: source, line: op.line,
                                           expected: "a completion for process \(op.process)'s invoke at line "
                                               + "\(ops[previous].line) before its next invoke")
                }
                open[op.process] = position
            } else if let start = open.removeValue(forKey: op.process) {
                partner[position] = start
                partner[start] = position
            } else if op.process.isClient {
                throw HistoryReadError(file: source, line: op.line,
                                       expected: "an invoke by process \(op.process) before this :\(op.type)")
            }
        }
        return partner
    }
}
