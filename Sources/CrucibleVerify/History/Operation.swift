// One line of a history, with Jepsen's field names and meanings.

public enum OperationType: String, Sendable {
    case invoke
    case ok
    /// Certainly did not happen.
    case fail
    /// Indeterminate: may or may not have happened.
    case info
}

public enum Process: Hashable, Sendable, CustomStringConvertible {
    case client(Int)
    /// `"nemesis"` and any other non-client actor.
    case named(String)

    public var isClient: Bool { if case .client = self { return true } else { return false } }

    public var description: String {
        switch self {
        case .client(let p): return String(p)
        case .named(let n): return n
        }
    }
}

public struct Operation: Sendable {
    /// The history's own `index` field (or the position, when the format has none). Witnesses name these.
    public var index: Int
    /// Nanoseconds since the test began, when the format records it.
    public var time: Int?
    public var process: Process
    public var type: OperationType
    public var f: String
    public var value: Value
    /// The KV workload's `key` field.
    public var key: Value?
    /// Fields beyond the standard ones (`rebalance-log`, `seek-to-beginning?`, `error`...).
    public var extra: [Value.MapEntry]
    /// 1-based line in the source file, for messages.
    public var line: Int

    public init(index: Int, time: Int? = nil, process: Process, type: OperationType, f: String, value: Value,
                key: Value? = nil, extra: [Value.MapEntry] = [], line: Int = 0) {
        self.index = index
        self.time = time
        self.process = process
        self.type = type
        self.f = f
        self.value = value
        self.key = key
        self.extra = extra
        self.line = line
    }

    public func extraField(_ name: String) -> Value? {
        for entry in extra where entry.key.name == name { return entry.value }
        return nil
    }
}
