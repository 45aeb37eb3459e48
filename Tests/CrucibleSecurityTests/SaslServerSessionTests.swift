import Foundation
import XCTest
@testable import CrucibleSecurity

final class SaslServerSessionTests: XCTestCase {
    private let aliceScram = ScramCredential(password: "alice-secret", mechanism: .sha512, iterations: 4096)

    private func session(_ mechanisms: [String] = SaslMechanismName.supported) -> SaslServerSession {
        SaslServerSession(enabledMechanisms: mechanisms, credentials: .init(plainUsers: ["bob": "bob-secret"]) { user, mechanism in
            user == "alice" && mechanism == .sha512 ? self.aliceScram : nil
        })
    }

    func testPlainAcceptsJaasUsersAndScramUsersAndNothingElse() {
        for (user, password, succeeds) in [("bob", "bob-secret", true), ("alice", "alice-secret", true),
                                           ("bob", "nope", false), ("alice", "nope", false), ("carol", "x", false)] {
            var sasl = session()
            XCTAssertEqual(sasl.handshake(mechanism: "PLAIN", version: 1), .accepted)
            let outcome = sasl.authenticate(PlainMechanism.message(user: user, password: password))
            if succeeds {
                XCTAssertEqual(outcome, .authenticated(principal: "User:\(user)", finalBytes: []))
                XCTAssertTrue(sasl.isAuthenticated)
            } else {
                XCTAssertEqual(outcome, .failed("Authentication failed: Invalid username or password"))
                XCTAssertNil(sasl.principal)
            }
        }
    }

    func testADisabledMechanismIsRefusedWithTheEnabledOnes() {
        var sasl = session(["SCRAM-SHA-512"])
        XCTAssertEqual(sasl.handshake(mechanism: "PLAIN", version: 1), .unsupported(enabled: ["SCRAM-SHA-512"]))
        XCTAssertEqual(sasl.handshake(mechanism: "GSSAPI", version: 1), .unsupported(enabled: ["SCRAM-SHA-512"]))
    }

    func testAuthenticateWithoutAHandshakeIsAnIllegalState() {
        var sasl = session()
        guard case .illegalState = sasl.authenticate([0, 1]) else { return XCTFail("expected ILLEGAL_SASL_STATE") }
        XCTAssertEqual(sasl.handshake(mechanism: "PLAIN", version: 1), .accepted)
        XCTAssertEqual(sasl.handshake(mechanism: "PLAIN", version: 1), .illegalState, "a second handshake mid-exchange")
    }

    func testScramThroughTheSessionAndReauthenticationKeepsThePrincipal() throws {
        var sasl = session()
        try scramLogin(&sasl, user: "alice", password: "alice-secret")
        XCTAssertEqual(sasl.principal, "User:alice")
        // KIP-368: a new handshake on the authenticated connection re-authenticates with the same mechanism...
        XCTAssertEqual(sasl.handshake(mechanism: "PLAIN", version: 1), .unsupported(enabled: ["SCRAM-SHA-512"]))
        try scramLogin(&sasl, user: "alice", password: "alice-secret")
        XCTAssertTrue(sasl.isAuthenticated)
    }

    func testReauthenticationAsSomeoneElseFails() {
        var sasl = session()
        XCTAssertEqual(sasl.handshake(mechanism: "PLAIN", version: 1), .accepted)
        XCTAssertEqual(sasl.authenticate(PlainMechanism.message(user: "bob", password: "bob-secret")),
                       .authenticated(principal: "User:bob", finalBytes: []))
        XCTAssertEqual(sasl.handshake(mechanism: "PLAIN", version: 1), .accepted)
        XCTAssertTrue(sasl.reauthenticating)
        guard case .failed(let message) = sasl.authenticate(PlainMechanism.message(user: "alice", password: "alice-secret")) else {
            return XCTFail("a change of principal must fail")
        }
        XCTAssertTrue(message.contains("Cannot change principals"), message)
    }

    func testLibrdkafkasClientFinalNonceIsAccepted() throws {
        // librdkafka puts its own nonce in front of the combined one in its client-final message; Kafka checks
        // only that it ends with the server's nonce, and so does Crucible (the proof covers the message as sent).
        var server = ScramServer(mechanism: .sha512) { _, _ in self.aliceScram }
        let clientNonce = "librdkafkaNonce"
        let bare = "n=alice,r=\(clientNonce)"
        let serverFirst = String(decoding: try server.respond(to: Array("n,,\(bare)".utf8)), as: UTF8.self)
        let combined = serverFirst.split(separator: ",")[0].dropFirst(2)
        let withoutProof = "c=biws,r=\(clientNonce)\(combined)"
        let mechanism = ScramMechanism.sha512
        let keys = ScramKeys(saltedPassword: mechanism.saltedPassword("alice-secret", salt: aliceScram.salt, iterations: 4096),
                             mechanism: mechanism)
        let signature = mechanism.hmac(key: mechanism.hash(keys.clientKey), Array("\(bare),\(serverFirst),\(withoutProof)".utf8))
        let proof = Data(zip(keys.clientKey, signature).map { $0 ^ $1 }).base64EncodedString()
        let serverFinal = String(decoding: try server.respond(to: Array("\(withoutProof),p=\(proof)".utf8)), as: UTF8.self)
        XCTAssertTrue(serverFinal.hasPrefix("v="))
        XCTAssertEqual(server.authenticatedUser, "alice")
        // A nonce that does not end with the server's is refused.
        var other = ScramServer(mechanism: .sha512) { _, _ in self.aliceScram }
        _ = try other.respond(to: Array("n,,\(bare)".utf8))
        XCTAssertThrowsError(try other.respond(to: Array("c=biws,r=\(clientNonce)forged,p=\(proof)".utf8)))
    }

    private func scramLogin(_ sasl: inout SaslServerSession, user: String, password: String) throws {
        XCTAssertEqual(sasl.handshake(mechanism: "SCRAM-SHA-512", version: 1), .accepted)
        var client = ScramClient(mechanism: .sha512, user: user, password: password)
        guard case .challenge(let serverFirst) = sasl.authenticate(client.firstMessage()) else { return XCTFail("no server-first") }
        guard case .authenticated(_, let serverFinal) = sasl.authenticate(try client.finalMessage(serverFirst: serverFirst)) else {
            return XCTFail("not authenticated")
        }
        try client.verify(serverFinal: serverFinal)
    }
}

final class JaasAndSettingsTests: XCTestCase {
    func testJaasConfigOptionsAndPlainUsers() throws {
        let jaas = try JaasConfig(parsing: #"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="a b;c" user_admin="a b;c" user_alice=alice-secret;"#, key: "sasl.jaas.config")
        XCTAssertEqual(jaas.loginModule, "org.apache.kafka.common.security.plain.PlainLoginModule")
        XCTAssertEqual(jaas.options["password"], "a b;c")
        XCTAssertEqual(jaas.plainUsers, ["admin": "a b;c", "alice": "alice-secret"])
        XCTAssertThrowsError(try JaasConfig(parsing: "NoFlag username=x", key: "sasl.jaas.config"))
        XCTAssertThrowsError(try JaasConfig(parsing: #"M required username="unclosed"#, key: "sasl.jaas.config"))
    }

    func testClientSecurityFromJavaAndLibrdkafkaNames() throws {
        let java = try ClientSecurity(properties: [
            "security.protocol": "sasl_plaintext", "sasl.mechanism": "SCRAM-SHA-256",
            "sasl.jaas.config": #"org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";"#])
        XCTAssertEqual(java.sasl, .init(mechanism: "SCRAM-SHA-256", user: "u", password: "p"))
        XCTAssertNil(java.tls)
        let librdkafka = try ClientSecurity(properties: [
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "PLAIN", "sasl.username": "u", "sasl.password": "p"])
        XCTAssertEqual(librdkafka.sasl, .init(mechanism: "PLAIN", user: "u", password: "p"))
        for bad in [["security.protocol": "TLS"], ["security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "GSSAPI"],
                    ["security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN"],
                    ["security.protocol": "SSL", "ssl.ca.location": "/nonexistent/ca.pem"]] {
            XCTAssertThrowsError(try ClientSecurity(properties: bad)) { error in
                XCTAssertTrue(error is SecurityConfigError, "\(bad): \(error)")
            }
        }
    }

    func testGeneratedCertificatesLoadAsServerAndClientSettings() throws {
        let authority = try LocalCertificateAuthority(commonName: "test CA")
        let (certificate, key) = try authority.issue(commonName: "node-1", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        let ca = try authority.certificatePEM
        let server = try TLSSettings.server([
            "ssl.keystore.certificate.chain": certificate, "ssl.keystore.key": key, "ssl.client.auth": "required",
            "ssl.truststore.certificates": ca,
        ].lookup)
        XCTAssertEqual(server.minimumTLSVersion, .tlsv12)
        XCTAssertEqual(server.maximumTLSVersion, .tlsv13)
        XCTAssertThrowsError(try TLSSettings.server(["ssl.keystore.certificate.chain": certificate, "ssl.keystore.key": key,
                                                     "ssl.client.auth": "required"].lookup), "client auth needs a truststore")
        XCTAssertThrowsError(try TLSSettings.server(["ssl.keystore.certificate.chain": certificate, "ssl.keystore.key": key,
                                                     "ssl.enabled.protocols": "TLSv1.1"].lookup))
        XCTAssertThrowsError(try TLSSettings.server(["ssl.keystore.location": "/x.jks", "ssl.keystore.type": "JKS"].lookup)) { error in
            XCTAssertEqual((error as? SecurityConfigError)?.key, "ssl.keystore.type")
        }
        XCTAssertThrowsError(try TLSSettings.server([:].lookup)) { error in
            XCTAssertEqual((error as? SecurityConfigError)?.key, "ssl.keystore.location")
        }
        _ = try TLSSettings.client(["ssl.truststore.certificates": ca, "ssl.keystore.certificate.chain": certificate,
                                    "ssl.keystore.key": key].lookup)
    }
}

private extension Dictionary where Key == String, Value == String {
    var lookup: TLSSettings.Lookup { { self[$0] } }
}
