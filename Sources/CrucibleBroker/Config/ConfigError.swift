/// A config value that cannot be used: the broker exits 2 with this line, naming the key.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let key: String
    public let reason: String

    public init(key: String, _ reason: String) {
        self.key = key
        self.reason = reason
    }

    public var description: String { "invalid value for \(key): \(reason)" }
}

/// Typed reads of a properties set, each naming the key on failure.
struct ConfigReader {
    let properties: Properties

    func string(_ key: String) -> String? {
        properties[key]
    }

    func int(_ key: String, range: ClosedRange<Int64> = Int64.min...Int64.max) throws -> Int64? {
        guard let text = properties[key] else { return nil }
        guard let value = Int64(text) else { throw ConfigError(key: key, "'\(text)' is not an integer") }
        guard range.contains(value) else {
            throw ConfigError(key: key, "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func bool(_ key: String) throws -> Bool? {
        guard let text = properties[key] else { return nil }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: throw ConfigError(key: key, "'\(text)' is not true or false")
        }
    }

    func list(_ key: String) -> [String]? {
        properties[key].map { $0.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty } }
    }
}
