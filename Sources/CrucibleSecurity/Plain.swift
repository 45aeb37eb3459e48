import Foundation

/// SASL PLAIN (RFC 4616): one message, `authzid NUL authcid NUL passwd`.
public enum PlainMechanism {
    public struct Message: Equatable {
        public let user: String
        public let password: String
    }

    public static func parse(_ bytes: [UInt8]) throws -> Message {
        let fields = bytes.split(separator: 0, omittingEmptySubsequences: false)
        guard fields.count == 3 else {
            throw SaslFailure(message: "Invalid SASL/PLAIN response: expected 3 tokens, got \(fields.count)")
        }
        let authorizationId = String(decoding: fields[0], as: UTF8.self)
        let user = String(decoding: fields[1], as: UTF8.self)
        let password = String(decoding: fields[2], as: UTF8.self)
        guard !user.isEmpty else { throw SaslFailure(message: "Authentication failed: username not specified") }
        guard !password.isEmpty else { throw SaslFailure(message: "Authentication failed: password not specified") }
        guard authorizationId.isEmpty || authorizationId == user else {
            throw SaslFailure(message: "Authentication failed: Client requested an authorization id that is different from username")
        }
        return Message(user: user, password: password)
    }

    public static func message(user: String, password: String) -> [UInt8] {
        [0] + Array(user.utf8) + [0] + Array(password.utf8)
    }
}

/// A JAAS login module line as Kafka's `sasl.jaas.config` holds it:
/// `org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="b" user_a="b";`
public struct JaasConfig: Equatable, Sendable {
    public let loginModule: String
    public let options: [String: String]

    public init(parsing text: String, key: String) throws {
        let blank: Set<Character> = [" ", "\t", "\n", "\r"]
        var scanner = Substring(text.trimmingCharacters(in: CharacterSet(charactersIn: " \t\n\r;")))
        func word() -> Substring {
            scanner = scanner.drop { blank.contains($0) }
            let found = scanner.prefix { !blank.contains($0) && $0 != "=" }
            scanner = scanner.dropFirst(found.count)
            return found
        }
        loginModule = String(word())
        let flag = word()
        guard !loginModule.isEmpty, ["required", "requisite", "sufficient", "optional"].contains(flag) else {
            throw SecurityConfigError(key: key, "expected 'LoginModuleClass required key=\"value\" ...;'")
        }
        var options: [String: String] = [:]
        while true {
            let name = word()
            if name.isEmpty { break }
            guard scanner.first == "=" else { throw SecurityConfigError(key: key, "option '\(name)' has no value") }
            scanner = scanner.dropFirst()
            let value: Substring
            if scanner.first == "\"" {
                scanner = scanner.dropFirst()
                guard let close = scanner.firstIndex(of: "\"") else {
                    throw SecurityConfigError(key: key, "the value of '\(name)' has no closing quote")
                }
                value = scanner[..<close]
                scanner = scanner[scanner.index(after: close)...]
            } else {
                value = scanner.prefix { !blank.contains($0) && $0 != ";" }
                scanner = scanner.dropFirst(value.count)
            }
            options[String(name)] = String(value)
        }
        self.options = options
    }

    /// `user_NAME="password"` entries: the users Kafka's PLAIN server callback accepts.
    public var plainUsers: [String: String] {
        Dictionary(uniqueKeysWithValues: options.compactMap { key, value in
            key.hasPrefix("user_") ? (String(key.dropFirst(5)), value) : nil
        })
    }
}

public struct SecurityConfigError: Error, CustomStringConvertible {
    public let key: String
    public let message: String
    public init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }
    public var description: String { "\(key): \(message)" }
}
