/// Kafka's `server.properties` format: `key=value` (or `key: value`) lines, `#`/`!` comments, trailing
/// backslash continuations, and the Java escapes that matter for configs.
public struct Properties: Equatable, Sendable {
    public private(set) var entries: [(key: String, value: String)] = []

    public static func == (a: Properties, b: Properties) -> Bool {
        a.entries.elementsEqual(b.entries) { $0 == $1 }
    }

    public init() {}

    public init(parsing text: String) {
        var pending = ""
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            var line = String(rawLine)
            if pending.isEmpty { line = String(line.drop { $0 == " " || $0 == "\t" }) }
            else { line = pending + line.drop { $0 == " " || $0 == "\t" } }
            pending = ""
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") { continue }
            if line.hasSuffix("\\") && !line.hasSuffix("\\\\") {
                pending = String(line.dropLast())
                continue
            }
            guard let separator = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                set(line.trimmingSpaces, "")
                continue
            }
            set(String(line[..<separator]).trimmingSpaces, String(line[line.index(after: separator)...]).trimmingSpaces)
        }
        if !pending.isEmpty, let separator = pending.firstIndex(of: "=") {
            set(String(pending[..<separator]).trimmingSpaces, String(pending[pending.index(after: separator)...]))
        }
    }

    public subscript(key: String) -> String? {
        entries.last { $0.key == key }?.value
    }

    public mutating func set(_ key: String, _ value: String) {
        entries.removeAll { $0.key == key }
        entries.append((key, value))
    }

    public var keys: [String] { entries.map(\.key) }

    public func rendered() -> String {
        entries.map { "\($0.key)=\($0.value)" }.joined(separator: "\n") + "\n"
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
    }
}
