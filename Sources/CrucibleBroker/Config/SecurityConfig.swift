import CrucibleSecurity
import NIOSSL

/// The security keys of a node, Kafka's: `listener.security.protocol.map`, `inter.broker.listener.name` (or
/// `security.inter.broker.protocol`), `ssl.*` and `sasl.*` with their `listener.name.NAME.` overrides,
/// `sasl.enabled.mechanisms`, `sasl.mechanism.inter.broker.protocol`, `sasl.mechanism.controller.protocol`,
/// `connections.max.reauth.ms`, `super.users`, `allow.everyone.if.no.acl.found`.
public struct SecurityConfig: @unchecked Sendable {
    public var protocolMap: [String: SecurityProtocol] = [:]
    public var interBrokerListenerName = "PLAINTEXT"
    public var saslMechanismInterBroker = "GSSAPI"
    public var saslMechanismController = "GSSAPI"
    /// KIP-368: an authenticated SASL session lasts this long (0: for ever); the client re-authenticates before.
    public var connectionsMaxReauthMs: Int64 = 0
    public var superUsers: Set<String> = []
    public var allowEveryoneIfNoAclFound = false
    /// `authorizer.class.name`: ACLs are enforced only with an authorizer (Kafka's StandardAuthorizer).
    public var authorizerEnabled = false
    /// The keys as written, for the per-listener lookups.
    private var raw: [String: String] = [:]
    private var listenerSettings: [String: ServerSettings] = [:]
    /// How this node reaches other nodes' inter-broker listener, and the controllers' listener.
    public private(set) var interBrokerClient = ClientSecurity.plaintext
    public private(set) var controllerClient = ClientSecurity.plaintext

    public init() {}

    static let defaultProtocolMap: [String: SecurityProtocol] = Dictionary(
        uniqueKeysWithValues: SecurityProtocol.allCases.map { ($0.rawValue, $0) })

    init(_ read: ConfigReader, listeners: [Listener], controllerListenerNames: [String]) throws {
        raw = Dictionary(read.properties.entries.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        if let text = read.string("listener.security.protocol.map") {
            for entry in text.split(separator: ",") {
                let parts = entry.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let value = SecurityProtocol(name: parts[1]) else {
                    throw ConfigError(key: "listener.security.protocol.map",
                                      "'\(entry)' must be NAME:PROTOCOL with PROTOCOL one of \(SecurityProtocol.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                protocolMap[parts[0].uppercased()] = value
            }
        } else {
            // Kafka's default map, and a controller listener not in it speaks PLAINTEXT (as Kafka 3.x assumes).
            protocolMap = Self.defaultProtocolMap
            for name in controllerListenerNames where protocolMap[name] == nil { protocolMap[name] = .plaintext }
        }
        for listener in listeners where protocolMap[listener.name] == nil {
            throw ConfigError(key: "listener.security.protocol.map", "has no security protocol for the listener \(listener.name)")
        }
        if let name = read.string("inter.broker.listener.name") {
            interBrokerListenerName = name.uppercased()
        } else if let protocolName = read.string("security.inter.broker.protocol") {
            guard let wanted = SecurityProtocol(name: protocolName) else {
                throw ConfigError(key: "security.inter.broker.protocol", "'\(protocolName)' is not a security protocol")
            }
            interBrokerListenerName = listeners.first { protocolMap[$0.name] == wanted && !controllerListenerNames.contains($0.name) }?.name
                ?? wanted.rawValue
        } else {
            interBrokerListenerName = listeners.first { !controllerListenerNames.contains($0.name) }?.name ?? "PLAINTEXT"
        }
        let enabled = Self.mechanisms(read.string("sasl.enabled.mechanisms"))
        saslMechanismInterBroker = read.string("sasl.mechanism.inter.broker.protocol")?.uppercased() ?? enabled.first ?? "GSSAPI"
        saslMechanismController = read.string("sasl.mechanism.controller.protocol")?.uppercased() ?? enabled.first ?? "GSSAPI"
        connectionsMaxReauthMs = try read.int("connections.max.reauth.ms", range: 0...Int64.max) ?? 0
        superUsers = Set((read.string("super.users") ?? "").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty })
        allowEveryoneIfNoAclFound = try read.bool("allow.everyone.if.no.acl.found") ?? false
        if let authorizer = read.string("authorizer.class.name"), !authorizer.isEmpty {
            guard authorizer.hasSuffix("StandardAuthorizer") || authorizer.hasSuffix("AclAuthorizer") else {
                throw ConfigError(key: "authorizer.class.name", "\(authorizer) is not supported: use org.apache.kafka.metadata.authorizer.StandardAuthorizer")
            }
            authorizerEnabled = true
        }
        // Built once, and refused at start naming the key, rather than failing on the first connection.
        for listener in listeners { listenerSettings[listener.name] = try makeServerSettings(for: listener.name) }
        interBrokerClient = try clientSecurity(forListener: interBrokerListenerName, mechanism: saslMechanismInterBroker)
        if let controllerListener = controllerListenerNames.first {
            controllerClient = try clientSecurity(forListener: controllerListener, mechanism: saslMechanismController)
        }
    }

    /// `sasl.enabled.mechanisms`; unset, every mechanism Crucible serves (Kafka's default, GSSAPI, needs Kerberos).
    static func mechanisms(_ text: String?) -> [String] {
        guard let text else { return SaslMechanismName.supported }
        return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty }
    }

    public func securityProtocol(of listener: String) -> SecurityProtocol { protocolMap[listener] ?? .plaintext }

    /// A key as seen by one listener: `listener.name.<name>.<key>` first, then the key itself.
    func value(_ key: String, listener: String) -> String? {
        raw["listener.name.\(listener.lowercased()).\(key)"] ?? raw[key]
    }

    /// What one listener needs to accept connections.
    public struct ServerSettings: @unchecked Sendable {
        public let securityProtocol: SecurityProtocol
        public let tls: NIOSSLContext?
        public let mechanisms: [String]
        public let plainUsers: [String: String]
        /// `ssl.principal.mapping.rules`: a client certificate's subject to a principal.
        public var principalMapper: SslPrincipalMapper = .default
    }

    public func serverSettings(for listener: String) -> ServerSettings {
        listenerSettings[listener] ?? ServerSettings(securityProtocol: .plaintext, tls: nil, mechanisms: [], plainUsers: [:])
    }

    func makeServerSettings(for listener: String) throws -> ServerSettings {
        let securityProtocol = self.securityProtocol(of: listener)
        var tls: NIOSSLContext?
        if securityProtocol.usesTLS {
            let configuration = try wrap { try TLSSettings.server { self.value($0, listener: listener) } }
            do { tls = try NIOSSLContext(configuration: configuration) } catch {
                throw ConfigError(key: "listener.name.\(listener.lowercased()).ssl.keystore.location", "cannot be used for TLS: \(error)")
            }
        }
        var mechanisms: [String] = []
        var plainUsers: [String: String] = [:]
        if securityProtocol.usesSASL {
            mechanisms = Self.mechanisms(value("sasl.enabled.mechanisms", listener: listener))
            for mechanism in mechanisms where !SaslMechanismName.supported.contains(mechanism) {
                throw ConfigError(key: "sasl.enabled.mechanisms", "\(mechanism) is not supported (\(SaslMechanismName.supported.joined(separator: ", ")))")
            }
            if let jaas = jaasConfig(listener: listener, mechanism: SaslMechanismName.plain) {
                plainUsers = try wrap { try JaasConfig(parsing: jaas, key: "sasl.jaas.config") }.plainUsers
            }
        }
        var settings = ServerSettings(securityProtocol: securityProtocol, tls: tls, mechanisms: mechanisms, plainUsers: plainUsers)
        if let rules = value("ssl.principal.mapping.rules", listener: listener) {
            settings.principalMapper = try wrap { try SslPrincipalMapper(parsing: rules) }
        }
        return settings
    }

    /// `listener.name.<l>.<mechanism>.sasl.jaas.config`, then the listener's, then the global key.
    func jaasConfig(listener: String, mechanism: String) -> String? {
        raw["listener.name.\(listener.lowercased()).\(mechanism.lowercased()).sasl.jaas.config"] ?? value("sasl.jaas.config", listener: listener)
    }

    /// How this node connects, as a client, to another node's `listener`: that listener's TLS settings (its
    /// truststore, and its keystore for client authentication) and the JAAS `username`/`password` of the mechanism.
    public func clientSecurity(forListener listener: String, mechanism: String) throws -> ClientSecurity {
        let securityProtocol = self.securityProtocol(of: listener)
        var properties: [String: String] = ["security.protocol": securityProtocol.rawValue]
        for key in Self.clientTLSKeys { if let value = value(key, listener: listener) { properties[key] = value } }
        if securityProtocol.usesSASL {
            properties["sasl.mechanism"] = mechanism
            if let jaas = jaasConfig(listener: listener, mechanism: mechanism) { properties["sasl.jaas.config"] = jaas }
        }
        return try wrap { try ClientSecurity(properties: properties) }
    }

    static let clientTLSKeys = [
        "ssl.keystore.type", "ssl.keystore.location", "ssl.keystore.password", "ssl.key.password",
        "ssl.keystore.certificate.chain", "ssl.keystore.key", "ssl.truststore.type", "ssl.truststore.location",
        "ssl.truststore.password", "ssl.truststore.certificates", "ssl.enabled.protocols",
        "ssl.endpoint.identification.algorithm",
    ]

    /// Whether a key belongs here (so it is not warned about as unknown).
    static func isSecurityKey(_ key: String) -> Bool {
        key.hasPrefix("ssl.") || key.hasPrefix("sasl.") || key.hasPrefix("listener.name.") || key.hasPrefix("security.")
            || ["super.users", "allow.everyone.if.no.acl.found", "authorizer.class.name", "connections.max.reauth.ms",
                "principal.builder.class", "listener.security.protocol.map", "inter.broker.listener.name"].contains(key)
    }

    private func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as SecurityConfigError { throw ConfigError(key: error.key, error.message) }
    }
}
