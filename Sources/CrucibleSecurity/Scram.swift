import Crypto
import Foundation

/// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), with the mechanism type numbers Kafka's
/// AlterUserScramCredentials and UserScramCredentialRecord use.
public enum ScramMechanism: Int8, CaseIterable, Sendable, CustomStringConvertible {
    case sha256 = 1
    case sha512 = 2

    public var name: String { self == .sha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512" }
    public var description: String { name }

    public init?(name: String) {
        guard let found = Self.allCases.first(where: { $0.name == name.uppercased() }) else { return nil }
        self = found
    }

    /// Kafka's bounds on iterations (`ScramMechanism.minIterations`, and AlterUserScramCredentials' maximum).
    public static let iterationRange: ClosedRange<Int32> = 4096...16384

    func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        switch self {
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: data, using: SymmetricKey(data: key)))
        }
    }

    func hash(_ data: [UInt8]) -> [UInt8] {
        switch self {
        case .sha256: return Array(SHA256.hash(data: data))
        case .sha512: return Array(SHA512.hash(data: data))
        }
    }

    /// Hi(password, salt, i) of RFC 5802: PBKDF2 with this mechanism's HMAC and one block of output.
    func saltedPassword(_ password: String, salt: [UInt8], iterations: Int32) -> [UInt8] {
        let key = Array(password.utf8)
        var block = hmac(key: key, salt + [0, 0, 0, 1])
        var result = block
        for _ in 1..<max(1, Int(iterations)) {
            block = hmac(key: key, block)
            for index in result.indices { result[index] ^= block[index] }
        }
        return result
    }
}

/// What the broker keeps for one user and mechanism: never the password, only what verifies a proof of it.
public struct ScramCredential: Equatable, Sendable {
    public var salt: [UInt8]
    public var storedKey: [UInt8]
    public var serverKey: [UInt8]
    public var iterations: Int32

    public init(salt: [UInt8], storedKey: [UInt8], serverKey: [UInt8], iterations: Int32) {
        self.salt = salt
        self.storedKey = storedKey
        self.serverKey = serverKey
        self.iterations = iterations
    }

    /// Derives the credential of `password`; the salt is random unless given.
    public init(password: String, mechanism: ScramMechanism, iterations: Int32, salt: [UInt8]? = nil) {
        let salt = salt ?? Self.randomBytes(count: 32)
        let keys = ScramKeys(saltedPassword: mechanism.saltedPassword(password, salt: salt, iterations: iterations),
                             mechanism: mechanism)
        self.init(salt: salt, storedKey: mechanism.hash(keys.clientKey), serverKey: keys.serverKey, iterations: iterations)
    }

    /// Whether `password` is the one this credential was derived from (PLAIN against SCRAM-only users).
    public func matches(password: String, mechanism: ScramMechanism) -> Bool {
        ScramCredential(password: password, mechanism: mechanism, iterations: iterations, salt: salt) == self
    }

    static func randomBytes(count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}

struct ScramKeys {
    let clientKey: [UInt8]
    let serverKey: [UInt8]

    init(saltedPassword: [UInt8], mechanism: ScramMechanism) {
        clientKey = mechanism.hmac(key: saltedPassword, Array("Client Key".utf8))
        serverKey = mechanism.hmac(key: saltedPassword, Array("Server Key".utf8))
    }
}

/// A SASL exchange (SCRAM or PLAIN) that did not authenticate; `message` is what the peer is told.
public struct SaslFailure: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}

/// SCRAM messages are comma-separated `k=value` attributes.
enum ScramAttributes {
    static func parse(_ text: String) -> [(key: Character, value: String)] {
        text.split(separator: ",", omittingEmptySubsequences: false).compactMap { part in
            guard part.count >= 2, part[part.index(after: part.startIndex)] == "=" else { return nil }
            return (part.first!, String(part.dropFirst(2)))
        }
    }

    static func value(_ key: Character, in attributes: [(key: Character, value: String)]) -> String? {
        attributes.first { $0.key == key }?.value
    }

    /// saslname of RFC 5802: `=2C` for ',' and `=3D` for '='.
    static func decodeName(_ name: String) -> String {
        name.replacingOccurrences(of: "=2C", with: ",").replacingOccurrences(of: "=3D", with: "=")
    }

    static func encodeName(_ name: String) -> String {
        name.replacingOccurrences(of: "=", with: "=3D").replacingOccurrences(of: ",", with: "=2C")
    }

    static func nonce() -> String {
        Data(ScramCredential.randomBytes(count: 24)).base64EncodedString()
    }
}

extension ScramCredential {
    /// From a salted password a client computed (AlterUserScramCredentials sends that, never the password).
    public init(saltedPassword: [UInt8], salt: [UInt8], iterations: Int32, mechanism: ScramMechanism) {
        let keys = ScramKeys(saltedPassword: saltedPassword, mechanism: mechanism)
        self.init(salt: salt, storedKey: mechanism.hash(keys.clientKey), serverKey: keys.serverKey, iterations: iterations)
    }

    /// Hi(password, salt, iterations): what a client sends in AlterUserScramCredentials.
    public static func saltedPassword(_ password: String, salt: [UInt8], iterations: Int32,
                                      mechanism: ScramMechanism) -> [UInt8] {
        mechanism.saltedPassword(password, salt: salt, iterations: iterations)
    }

    public static func randomSalt() -> [UInt8] { randomBytes(count: 32) }
}
