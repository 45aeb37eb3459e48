/// Kafka's `security.protocol` values: what a listener (or a client's connection) wraps the protocol in.
public enum SecurityProtocol: String, CaseIterable, Sendable {
    case plaintext = "PLAINTEXT"
    case ssl = "SSL"
    case saslPlaintext = "SASL_PLAINTEXT"
    case saslSsl = "SASL_SSL"

    public init?(name: String) { self.init(rawValue: name.uppercased()) }

    public var usesTLS: Bool { self == .ssl || self == .saslSsl }
    public var usesSASL: Bool { self == .saslPlaintext || self == .saslSsl }
}

/// The mechanisms the broker can serve.
public enum SaslMechanismName {
    public static let plain = "PLAIN"
    public static let supported = [plain] + ScramMechanism.allCases.map(\.name)
}
