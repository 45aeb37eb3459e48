// The data inside a history: what JSON and EDN can both say. One type for both formats means every
// checker reads the same shape whatever file it came from; keywords and strings stay distinct so that
// EDN round-trips, but field lookups treat `:type` and `"type"` alike.

public enum Value: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case keyword(String)            // EDN `:name`, stored without the colon
    case vector([Value])            // JSON arrays, EDN vectors and lists
    case map([MapEntry])            // in file order; histories have few fields, so linear lookup is fastest
    case set([Value])

    public struct MapEntry: Hashable, Sendable {
        public var key: Value
        public var value: Value
        public init(_ key: Value, _ value: Value) { self.key = key; self.value = value }
    }

    /// A string or keyword's text: the two spell the same names in JSON and EDN histories.
    public var name: String? {
        switch self {
        case .string(let s), .keyword(let s): return s
        default: return nil
        }
    }

    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .string(let s): return Int(s)   // JSON object keys are strings: {"3": ...}
        default: return nil
        }
    }

    public var isNull: Bool { if case .null = self { return true } else { return false } }

    public var elements: [Value]? {
        switch self {
        case .vector(let xs), .set(let xs): return xs
        default: return nil
        }
    }

    /// Looks up a field of a map by name, whether the key is a string or a keyword.
    public subscript(field: String) -> Value? {
        guard case .map(let entries) = self else { return nil }
        for entry in entries where entry.key.name == field { return entry.value }
        return nil
    }
}

extension Value: CustomStringConvertible {
    /// EDN-like text, short and unambiguous; used in messages and summaries.
    public var description: String {
        switch self {
        case .null: return "nil"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return "\"" + s + "\""
        case .keyword(let k): return ":" + k
        case .vector(let xs): return "[" + xs.map(\.description).joined(separator: " ") + "]"
        case .set(let xs): return "#{" + xs.map(\.description).joined(separator: " ") + "}"
        case .map(let es): return "{" + es.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "}"
        }
    }
}
