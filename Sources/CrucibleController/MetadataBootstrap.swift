import CrucibleProtocol
import CrucibleSecurity
import Foundation

/// Records a cluster starts with, written by `storage format` beside meta.properties (Kafka's
/// bootstrap.checkpoint): the SCRAM users of `--add-scram`, salted there so no password reaches the disk. The
/// first active controller proposes them once, with the `metadata.version` feature level that marks the log as
/// bootstrapped.
public enum MetadataBootstrap {
    public static let fileName = "bootstrap.credentials"
    public static let metadataVersionFeature = "metadata.version"
    /// Kafka 3.9's metadata.version (3.9-IV0), the first with everything this image tracks.
    static let metadataVersionLevel: Int16 = 21

    public struct Credential: Equatable, Sendable {
        public var user: String
        public var mechanism: ScramMechanism
        public var credential: ScramCredential

        public init(user: String, mechanism: ScramMechanism, credential: ScramCredential) {
            self.user = user
            self.mechanism = mechanism
            self.credential = credential
        }
    }

    /// The records to propose when the log is not bootstrapped yet.
    static func records(_ bootstrap: [any KafkaMetadataRecord]) -> [any KafkaMetadataRecord] {
        var feature = FeatureLevelRecord()
        feature.name = metadataVersionFeature
        feature.featureLevel = metadataVersionLevel
        return [feature] + bootstrap
    }

    /// `SCRAM-SHA-512=[name=alice,password=secret]` or with `iterations=N`, as kafka-storage.sh's `--add-scram`.
    public static func parseAddScram(_ text: String) throws -> Credential {
        let key = "--add-scram"
        guard let equals = text.firstIndex(of: "="), text.hasSuffix("]"),
              text[text.index(after: equals)...].hasPrefix("[") else {
            throw SecurityConfigError(key: key, "'\(text)' is not of the form 'SCRAM-SHA-512=[name=USER,password=PASSWORD]'")
        }
        guard let mechanism = ScramMechanism(name: String(text[..<equals])) else {
            throw SecurityConfigError(key: key, "'\(text[..<equals])' is not SCRAM-SHA-256 or SCRAM-SHA-512")
        }
        let body = text[text.index(equals, offsetBy: 2)..<text.index(before: text.endIndex)]
        let fields = try ScramConfigValue.parse(String(body), key: key)
        guard let user = fields["name"], !user.isEmpty else { throw SecurityConfigError(key: key, "'\(text)' names no user (name=)") }
        let credential = try ScramConfigValue.credential(fields, mechanism: mechanism, key: key)
        return Credential(user: user, mechanism: mechanism, credential: credential)
    }

    public static func write(_ credentials: [Credential], to directory: String) throws {
        let lines = credentials.map { entry in
            [entry.mechanism.name, Data(entry.user.utf8).base64EncodedString(), String(entry.credential.iterations),
             Data(entry.credential.salt).base64EncodedString(), Data(entry.credential.storedKey).base64EncodedString(),
             Data(entry.credential.serverKey).base64EncodedString()].joined(separator: " ")
        }
        let path = (directory as NSString).appendingPathComponent(fileName)
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The bootstrap records in `directory`, none when it has no bootstrap file.
    public static func read(from directory: String) throws -> [any KafkaMetadataRecord] {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { line in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == 6, let mechanism = ScramMechanism(name: fields[0]), let iterations = Int32(fields[2]),
                  let user = Data(base64Encoded: fields[1]), let salt = Data(base64Encoded: fields[3]),
                  let stored = Data(base64Encoded: fields[4]), let server = Data(base64Encoded: fields[5]) else {
                throw SecurityConfigError(key: path, "is damaged: '\(line)'")
            }
            return UserScramCredentialRecord(user: String(decoding: user, as: UTF8.self), mechanism: mechanism,
                                             credential: ScramCredential(salt: Array(salt), storedKey: Array(stored),
                                                                         serverKey: Array(server), iterations: iterations))
        }
    }
}

/// The value kafka-configs.sh takes for a SCRAM mechanism: `[iterations=8192,password=secret]` (brackets optional
/// here), optionally with `salt=` (base64).
public enum ScramConfigValue {
    public static func parse(_ text: String, key: String) throws -> [String: String] {
        var body = Substring(text)
        if body.hasPrefix("["), body.hasSuffix("]") { body = body.dropFirst().dropLast() }
        var fields: [String: String] = [:]
        for part in body.split(separator: ",") {
            guard let equals = part.firstIndex(of: "=") else { throw SecurityConfigError(key: key, "'\(part)' is not key=value") }
            fields[String(part[..<equals]).trimmingCharacters(in: .whitespaces)] = String(part[part.index(after: equals)...])
        }
        return fields
    }

    public static func credential(_ fields: [String: String], mechanism: ScramMechanism, key: String) throws -> ScramCredential {
        guard let password = fields["password"], !password.isEmpty else {
            throw SecurityConfigError(key: key, "needs password=")
        }
        let iterations = try fields["iterations"].map { text -> Int32 in
            guard let value = Int32(text), ScramMechanism.iterationRange.contains(value) else {
                throw SecurityConfigError(key: key, "iterations=\(text) must be from \(ScramMechanism.iterationRange.lowerBound) to \(ScramMechanism.iterationRange.upperBound)")
            }
            return value
        } ?? 4096
        let salt = try fields["salt"].map { text -> [UInt8] in
            guard let data = Data(base64Encoded: text), !data.isEmpty else { throw SecurityConfigError(key: key, "salt= must be base64") }
            return Array(data)
        }
        return ScramCredential(password: password, mechanism: mechanism, iterations: iterations, salt: salt)
    }
}
