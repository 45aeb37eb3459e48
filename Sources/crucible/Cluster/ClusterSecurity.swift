import ArgumentParser
import CrucibleBroker
import CrucibleController
import CrucibleSecurity
import CrucibleWorkload
import Foundation

/// `cluster up --security`: a local cluster whose every listener is TLS, client and controller alike, with a
/// certificate authority, node and client certificates made for it under DIR/security, and, for sasl_ssl, a
/// SCRAM user. DIR/client.properties holds what a client needs, in librdkafka's names (kcat -F, confluent-kafka,
/// and every crucible tool's --command-config take it).
extension ClusterSecurityMode: ExpressibleByArgument {}

struct ClusterSecurity: Codable {
    var mode: ClusterSecurityMode
    var nodeIds: [Int32]
    /// The client properties file for this cluster.
    var clientConfig: String
    static let adminUser = "admin"

    /// Makes the certificates and the client config; the users go into `format`'s bootstrap.
    static func prepare(mode: ClusterSecurityMode, dir: String, nodes: [ClusterLayout.Node]) throws -> ClusterSecurity? {
        guard mode != .plaintext else { return nil }
        let directory = dir + "/security"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let authority = try LocalCertificateAuthority(commonName: "Crucible local CA")
        try write(try authority.certificatePEM, to: directory + "/ca.pem")
        for node in nodes {
            let (certificate, key) = try authority.issue(commonName: "node-\(node.id)", dnsNames: ["localhost"],
                                                         ipAddresses: Array(Set(["127.0.0.1", node.address])))
            try write(certificate + key, to: nodeKeystore(directory, node.id))
        }
        // The client certificate is the admin's: `User:CN=admin,O=Crucible`, a super user like the SCRAM admin.
        let (certificate, key) = try authority.issue(commonName: adminUser, dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        try write(certificate, to: directory + "/client.pem")
        try write(key, to: directory + "/client-key.pem")
        var client = ["security.protocol=\(mode.listenerName)", "ssl.ca.location=\(directory)/ca.pem"]
        if mode == .ssl {
            client += ["ssl.certificate.location=\(directory)/client.pem", "ssl.key.location=\(directory)/client-key.pem"]
        } else {
            client += ["sasl.mechanism=SCRAM-SHA-512", "sasl.username=\(adminUser)", "sasl.password=\(try adminPassword(directory))"]
        }
        let clientConfig = dir + "/client.properties"
        try write(client.joined(separator: "\n") + "\n", to: clientConfig)
        return ClusterSecurity(mode: mode, nodeIds: nodes.map(\.id), clientConfig: clientConfig)
    }

    var directory: String { (clientConfig as NSString).deletingLastPathComponent + "/security" }

    static func nodeKeystore(_ directory: String, _ id: Int32) -> String { "\(directory)/node-\(id).pem" }

    /// The admin's password, made once per cluster directory (the nodes' inter-broker login and the client's).
    static func adminPassword(_ directory: String) throws -> String {
        let path = directory + "/admin.password"
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) { return existing }
        let password = ScramCredential.randomSalt().prefix(18).map { String(format: "%02x", $0) }.joined()
        try write(password, to: path)
        return password
    }

    /// A node's security keys, before the user's overrides.
    func nodeProperties(_ node: ClusterLayout.Node) throws -> [String] {
        let name = mode.listenerName
        var lines = [
            "listeners=\(name)://\(node.address):\(node.port),CONTROLLER://\(node.address):\(node.controllerPort)",
            "advertised.listeners=\(name)://\(node.clientAddress)",
            "listener.security.protocol.map=\(name):\(name),CONTROLLER:SSL",
            "inter.broker.listener.name=\(name)",
            "ssl.keystore.type=PEM",
            "ssl.keystore.location=\(Self.nodeKeystore(directory, node.id))",
            "ssl.truststore.type=PEM",
            "ssl.truststore.location=\(directory)/ca.pem",
            "listener.name.controller.ssl.client.auth=required",
            // The admin, and each node as its certificate names it (replicas fetching over the SSL listener).
            "super.users=" + (["User:\(Self.adminUser)", "User:CN=\(Self.adminUser),O=Crucible"]
                + nodeIds.map { "User:CN=node-\($0),O=Crucible" }).joined(separator: ";"),
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        ]
        if mode == .ssl {
            lines.append("ssl.client.auth=required")
        } else {
            let password = try Self.adminPassword(directory)
            lines += [
                "sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN",
                "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"\(Self.adminUser)\" password=\"\(password)\";",
            ]
        }
        return lines
    }

    /// The users the cluster starts with (sasl_ssl): the admin, under both SCRAM mechanisms.
    func bootstrapCredentials() throws -> [MetadataBootstrap.Credential] {
        guard mode == .sasl_ssl else { return [] }
        let password = try Self.adminPassword(directory)
        return ScramMechanism.allCases.map { mechanism in
            MetadataBootstrap.Credential(user: Self.adminUser, mechanism: mechanism,
                                         credential: ScramCredential(password: password, mechanism: mechanism, iterations: 4096))
        }
    }

    /// The client settings of this cluster, for the tool's own connections.
    func clientSecurity() throws -> ClientSecurity {
        try ClientSecurity(properties: loadClientProperties(clientConfig))
    }

    private static func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
    }
}

/// A client properties file (`--command-config`), as a dictionary; unreadable is a usage error naming it.
func loadClientProperties(_ path: String) throws -> [String: String] {
    guard let data = FileManager.default.contents(atPath: path) else { throw UsageError("cannot read \(path)") }
    let properties = Properties(parsing: String(decoding: data, as: UTF8.self))
    return Dictionary(properties.entries.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
}
