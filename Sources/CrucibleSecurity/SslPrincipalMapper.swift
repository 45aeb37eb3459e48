import Foundation

/// Kafka's `ssl.principal.mapping.rules`: how a client certificate's subject (RFC 2253, `CN=alice,OU=ops,O=Acme`)
/// becomes the principal's name. Rules are tried in order; the first whose pattern matches the whole subject
/// gives the name (`RULE:pattern/replacement/`, with `L` or `U` after the last slash to lower- or upper-case it);
/// `DEFAULT` gives the subject unchanged. A subject no rule matches has no principal, and its connection is
/// refused, as in Kafka.
public struct SslPrincipalMapper: Sendable {
    enum Rule: @unchecked Sendable {
        case unchanged
        case replace(NSRegularExpression, template: String, caseChange: Character?)
    }

    let rules: [Rule]

    public static let `default` = SslPrincipalMapper(rules: [.unchanged])

    init(rules: [Rule]) { self.rules = rules }

    public init(parsing text: String, key: String = "ssl.principal.mapping.rules") throws {
        var rules: [Rule] = []
        var rest = Substring(text)
        func skipSeparators() { rest = rest.drop { $0 == "," || $0.isWhitespace } }
        /// Up to the next `/` not escaped as `\/`, which is taken; the escapes become plain slashes.
        func segment() throws -> String {
            var value = "", escaped = false
            while let character = rest.first {
                rest = rest.dropFirst()
                if escaped { value += character == "/" ? "/" : "\\\(character)"; escaped = false }
                else if character == "\\" { escaped = true }
                else if character == "/" { return value }
                else { value.append(character) }
            }
            throw SecurityConfigError(key: key, "'\(text)': a RULE needs pattern/replacement/")
        }
        skipSeparators()
        while !rest.isEmpty {
            if rest.hasPrefix("DEFAULT") {
                rest = rest.dropFirst("DEFAULT".count)
                rules.append(.unchanged)
            } else if rest.hasPrefix("RULE:") {
                rest = rest.dropFirst("RULE:".count)
                let pattern = try segment(), template = try segment()
                var caseChange: Character?
                if let flag = rest.first, flag == "L" || flag == "U" { caseChange = flag; rest = rest.dropFirst() }
                guard let regex = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else {
                    throw SecurityConfigError(key: key, "'\(pattern)' is not a regular expression")
                }
                rules.append(.replace(regex, template: template, caseChange: caseChange))
            } else {
                throw SecurityConfigError(key: key, "'\(rest)': expected DEFAULT or RULE:pattern/replacement/[LU]")
            }
            skipSeparators()
        }
        guard !rules.isEmpty else { throw SecurityConfigError(key: key, "no rules: give DEFAULT or RULE:pattern/replacement/") }
        self.rules = rules
    }

    /// The principal's name for a certificate subject; nil when no rule applies.
    public func name(forSubject subject: String) -> String? {
        for rule in rules {
            switch rule {
            case .unchanged: return subject
            case .replace(let regex, let template, let caseChange):
                let whole = NSRange(subject.startIndex..., in: subject)
                guard regex.firstMatch(in: subject, range: whole) != nil else { continue }
                let name = regex.stringByReplacingMatches(in: subject, range: whole, withTemplate: template)
                switch caseChange {
                case "L": return name.lowercased()
                case "U": return name.uppercased()
                default: return name
                }
            }
        }
        return nil
    }
}
