import NIOSSL

/// How a client connection authenticates: the security protocol, TLS and SASL settings, read from client
/// properties with Kafka's Java names (`security.protocol`, `sasl.mechanism`, `sasl.jaas.config`,
/// `ssl.truststore.*`, `ssl.keystore.*`) or librdkafka's (`sasl.mechanisms`, `sasl.username`, `sasl.password`,
/// `ssl.ca.location`, `ssl.certificate.location`, `ssl.key.location`), as a `--command-config` file holds them.
public struct ClientSecurity: @unchecked Sendable {
    public struct SaslLogin: Sendable, Equatable {
        public var mechanism: String
        public var user: String
        public var password: String

        public init(mechanism: String, user: String, password: String) {
            self.mechanism = mechanism
            self.user = user
            self.password = password
        }
    }

    public var securityProtocol: SecurityProtocol
    /// Built once: every connection shares the context (loading certificates per connection is slow).
    public var tls: NIOSSLContext?
    public var sasl: SaslLogin?

    public static let plaintext = ClientSecurity(securityProtocol: .plaintext, tls: nil, sasl: nil)

    public init(securityProtocol: SecurityProtocol, tls: NIOSSLContext?, sasl: SaslLogin?) {
        self.securityProtocol = securityProtocol
        self.tls = tls
        self.sasl = sasl
    }

    /// Client properties to settings; keys that are not about security are ignored.
    public init(properties: [String: String]) throws {
        let name = properties["security.protocol"] ?? "PLAINTEXT"
        guard let securityProtocol = SecurityProtocol(name: name) else {
            throw SecurityConfigError(key: "security.protocol", "'\(name)' must be one of \(SecurityProtocol.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.securityProtocol = securityProtocol
        if securityProtocol.usesTLS {
            let configuration = try TLSSettings.client { properties[$0] }
            do {
                tls = try NIOSSLContext(configuration: configuration)
            } catch {
                throw SecurityConfigError(key: "ssl.truststore.location", "the TLS settings cannot be used: \(error)")
            }
        }
        if securityProtocol.usesSASL {
            sasl = try Self.login(properties)
        }
    }

    static func login(_ properties: [String: String]) throws -> SaslLogin {
        let mechanism = (properties["sasl.mechanism"] ?? properties["sasl.mechanisms"] ?? "GSSAPI").uppercased()
        guard SaslMechanismName.supported.contains(mechanism) else {
            throw SecurityConfigError(key: "sasl.mechanism", "'\(mechanism)' is not supported (\(SaslMechanismName.supported.joined(separator: ", ")))")
        }
        var user = properties["sasl.username"]
        var password = properties["sasl.password"]
        if let jaas = properties["sasl.jaas.config"] {
            let config = try JaasConfig(parsing: jaas, key: "sasl.jaas.config")
            user = user ?? config.options["username"]
            password = password ?? config.options["password"]
        }
        guard let user, let password else {
            throw SecurityConfigError(key: "sasl.jaas.config", "SASL needs a username and password (sasl.jaas.config, or sasl.username and sasl.password)")
        }
        return SaslLogin(mechanism: mechanism, user: user, password: password)
    }
}
