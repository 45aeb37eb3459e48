/// The security of a local cluster crucible starts (`cluster up --security`, `bench --security`, a scenario's
/// `cluster: security:`): every listener plaintext, TLS with client certificates, or TLS with SCRAM logins.
public enum ClusterSecurityMode: String, CaseIterable, Codable, Sendable {
    case plaintext
    case ssl
    case sasl_ssl

    /// The client listener's name and security protocol.
    public var listenerName: String { rawValue.uppercased() }
}
