// Writes a Value as JSON. Keywords become strings; map keys that are not strings are written as their
// text, since JSON objects only have string keys.

public enum JSONWriter {
    public static func string(_ value: Value, pretty: Bool = true) -> String {
        var out = ""
        write(value, into: &out, indent: pretty ? 0 : nil)
        return out
    }

    static func write(_ value: Value, into out: inout String, indent: Int?) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += d.isFinite ? String(d) : "null"
        case .string(let s), .keyword(let s): quote(s, into: &out)
        case .vector(let xs), .set(let xs):
            // Short lists of scalars stay on one line: witnesses' op lists read better that way.
            let flat = indent == nil || xs.allSatisfy { if case .vector = $0 { return false }; if case .map = $0 { return false }; return true }
            out += "["
            for (i, x) in xs.enumerated() {
                if i > 0 { out += flat ? ", " : "," }
                if !flat, let indent { newline(indent + 1, into: &out) }
                write(x, into: &out, indent: indent.map { $0 + 1 })
            }
            if !flat, let indent, !xs.isEmpty { newline(indent, into: &out) }
            out += "]"
        case .map(let entries):
            out += "{"
            for (i, e) in entries.enumerated() {
                if i > 0 { out += "," }
                if let indent { newline(indent + 1, into: &out) }
                quote(e.key.name ?? e.key.description, into: &out)
                out += indent == nil ? ":" : ": "
                write(e.value, into: &out, indent: indent.map { $0 + 1 })
            }
            if let indent, !entries.isEmpty { newline(indent, into: &out) }
            out += "}"
        }
    }

    static func newline(_ depth: Int, into out: inout String) {
        out += "\n"
        out += String(repeating: "  ", count: depth)
    }

    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
