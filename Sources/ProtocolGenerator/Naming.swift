/// Swift spellings of schema names.
enum Naming {
    private static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
        "internal", "let", "open", "operator", "private", "protocol", "public", "rethrows", "static", "struct",
        "subscript", "typealias", "var", "break", "case", "continue", "default", "defer", "do", "else",
        "fallthrough", "for", "guard", "if", "in", "repeat", "return", "switch", "where", "while", "as", "Any",
        "catch", "false", "is", "nil", "super", "self", "Self", "throw", "throws", "true", "try", "Type",
    ]

    /// `TopicData` -> `topicData`, as Kafka's Java generator does (only the first letter changes).
    static func lowerCamel(_ name: String) -> String {
        guard let first = name.first else { return name }
        return first.lowercased() + name.dropFirst()
    }

    /// A property or case name, backquoted when it is a Swift keyword.
    static func identifier(_ name: String) -> String {
        let camel = lowerCamel(name)
        return keywords.contains(camel) ? "`\(camel)`" : camel
    }

    /// `UNKNOWN_TOPIC_OR_PARTITION` -> `unknownTopicOrPartition`.
    static func fromUpperSnake(_ name: String) -> String {
        let words = name.lowercased().split(separator: "_")
        let camel = words.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.capitalized }.joined()
        return keywords.contains(camel) ? "`\(camel)`" : camel
    }

    static func stringLiteral(_ text: String) -> String {
        var escaped = ""
        for character in text.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return "\"\(escaped)\""
    }
}

/// Accumulates indented Swift source lines.
struct CodeWriter {
    private(set) var lines: [String] = []
    private var depth = 0

    mutating func line(_ text: String = "") {
        lines.append(text.isEmpty ? "" : String(repeating: "    ", count: depth) + text)
    }

    /// Writes `opening {` (or `opening { parameters in` for a closure), the body one level deeper, then `}`.
    mutating func block(_ opening: String, parameters: String? = nil,
                        _ body: (inout CodeWriter) throws -> Void) rethrows {
        line(opening + " {" + (parameters.map { " \($0) in" } ?? ""))
        depth += 1
        try body(&self)
        depth -= 1
        line("}")
    }

    /// Writes a one-line `case` of a `switch` at the `switch`'s depth.
    mutating func caseLine(_ text: String) {
        depth -= 1
        line(text)
        depth += 1
    }

    /// Writes a `case` label at the enclosing `switch`'s depth and its body one level deeper.
    mutating func caseLabel(_ label: String, _ body: (inout CodeWriter) -> Void) {
        depth -= 1
        line(label)
        depth += 1
        body(&self)
    }

    var text: String { lines.joined(separator: "\n") + "\n" }
}
