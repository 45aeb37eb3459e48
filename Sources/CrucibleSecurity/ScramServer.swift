import Foundation

/// The broker's side of one SCRAM exchange, a state machine over the client's two messages. The credential
/// lookup is the only thing it asks of the outside.
public struct ScramServer {
    public typealias CredentialLookup = (_ user: String, _ mechanism: ScramMechanism) -> ScramCredential?

    private enum State {
        case awaitingClientFirst
        case awaitingClientFinal(user: String, credential: ScramCredential, nonce: String, clientFirstBare: String,
                                 serverFirst: String)
        case done
    }

    public let mechanism: ScramMechanism
    private let lookup: CredentialLookup
    private var state = State.awaitingClientFirst
    /// Set once the client proved its password.
    public private(set) var authenticatedUser: String?

    public init(mechanism: ScramMechanism, lookup: @escaping CredentialLookup) {
        self.mechanism = mechanism
        self.lookup = lookup
    }

    /// Answers one client message; the second answer ends the exchange with the server's signature.
    public mutating func respond(to message: [UInt8]) throws -> [UInt8] {
        guard let text = String(bytes: message, encoding: .utf8) else { throw fail("the SCRAM message is not UTF-8") }
        switch state {
        case .awaitingClientFirst: return Array(try clientFirst(text).utf8)
        case .awaitingClientFinal(let user, let credential, let nonce, let bare, let serverFirst):
            return Array(try clientFinal(text, user: user, credential: credential, nonce: nonce, clientFirstBare: bare,
                                         serverFirst: serverFirst).utf8)
        case .done: throw fail("the SCRAM exchange is already complete")
        }
    }

    private mutating func clientFirst(_ text: String) throws -> String {
        // gs2-header: channel binding flag ("n" or "y": Kafka supports none), optional authzid, then the bare part.
        let parts = text.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "n" || parts[0] == "y" else {
            throw fail("invalid SCRAM client-first message")
        }
        let bare = String(parts[2])
        let attributes = ScramAttributes.parse(bare)
        guard let name = ScramAttributes.value("n", in: attributes), let clientNonce = ScramAttributes.value("r", in: attributes),
              !clientNonce.isEmpty else {
            throw fail("invalid SCRAM client-first message")
        }
        let user = ScramAttributes.decodeName(name)
        if parts[1].hasPrefix("a="), ScramAttributes.decodeName(String(parts[1].dropFirst(2))) != user {
            throw fail("Authentication failed: Client requested an authorization id that is different from username")
        }
        guard let credential = lookup(user, mechanism) else {
            throw fail("Authentication failed during authentication due to invalid credentials with SASL mechanism \(mechanism.name)")
        }
        let nonce = clientNonce + ScramAttributes.nonce()
        let serverFirst = "r=\(nonce),s=\(Data(credential.salt).base64EncodedString()),i=\(credential.iterations)"
        state = .awaitingClientFinal(user: user, credential: credential, nonce: nonce, clientFirstBare: bare,
                                     serverFirst: serverFirst)
        return serverFirst
    }

    private mutating func clientFinal(_ text: String, user: String, credential: ScramCredential, nonce: String,
                                      clientFirstBare: String, serverFirst: String) throws -> String {
        state = .done
        let attributes = ScramAttributes.parse(text)
        // Kafka's check is that the client's nonce ends with the server's (librdkafka sends its own nonce in front
        // of the whole combined one, and Kafka accepts that).
        guard ScramAttributes.value("r", in: attributes)?.hasSuffix(nonce) == true,
              let proofText = ScramAttributes.value("p", in: attributes), let proof = Data(base64Encoded: proofText),
              let proofRange = text.range(of: ",p=") else {
            throw fail("invalid SCRAM client-final message")
        }
        let withoutProof = String(text[..<proofRange.lowerBound])
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let clientSignature = mechanism.hmac(key: credential.storedKey, authMessage)
        guard proof.count == clientSignature.count else { throw invalidCredentials }
        let clientKey = zip(proof, clientSignature).map { $0 ^ $1 }
        guard mechanism.hash(clientKey) == credential.storedKey else { throw invalidCredentials }
        authenticatedUser = user
        let serverSignature = mechanism.hmac(key: credential.serverKey, authMessage)
        return "v=\(Data(serverSignature).base64EncodedString())"
    }

    private var invalidCredentials: SaslFailure {
        fail("Authentication failed during authentication due to invalid credentials with SASL mechanism \(mechanism.name)")
    }

    private func fail(_ message: String) -> SaslFailure { SaslFailure(message: message) }
}

/// The client's side, for Crucible's own connections (tools, inter-broker links).
public struct ScramClient {
    public let mechanism: ScramMechanism
    private let user: String
    private let password: String
    private let clientNonce = ScramAttributes.nonce()
    private var clientFirstBare = ""
    private var expectedServerSignature: [UInt8] = []

    public init(mechanism: ScramMechanism, user: String, password: String) {
        self.mechanism = mechanism
        self.user = user
        self.password = password
    }

    public mutating func firstMessage() -> [UInt8] {
        clientFirstBare = "n=\(ScramAttributes.encodeName(user)),r=\(clientNonce)"
        return Array("n,,\(clientFirstBare)".utf8)
    }

    public mutating func finalMessage(serverFirst message: [UInt8]) throws -> [UInt8] {
        let serverFirst = String(decoding: message, as: UTF8.self)
        let attributes = ScramAttributes.parse(serverFirst)
        guard let nonce = ScramAttributes.value("r", in: attributes), nonce.hasPrefix(clientNonce),
              let saltText = ScramAttributes.value("s", in: attributes), let salt = Data(base64Encoded: saltText),
              let iterationsText = ScramAttributes.value("i", in: attributes), let iterations = Int32(iterationsText),
              iterations > 0 else {
            throw SaslFailure(message: "invalid SCRAM server-first message")
        }
        let withoutProof = "c=\(Data("n,,".utf8).base64EncodedString()),r=\(nonce)"
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let keys = ScramKeys(saltedPassword: mechanism.saltedPassword(password, salt: Array(salt), iterations: iterations),
                             mechanism: mechanism)
        let signature = mechanism.hmac(key: mechanism.hash(keys.clientKey), authMessage)
        let proof = zip(keys.clientKey, signature).map { $0 ^ $1 }
        expectedServerSignature = mechanism.hmac(key: keys.serverKey, authMessage)
        return Array("\(withoutProof),p=\(Data(proof).base64EncodedString())".utf8)
    }

    public func verify(serverFinal message: [UInt8]) throws {
        let attributes = ScramAttributes.parse(String(decoding: message, as: UTF8.self))
        if let error = ScramAttributes.value("e", in: attributes) { throw SaslFailure(message: "server: \(error)") }
        guard let signature = ScramAttributes.value("v", in: attributes).flatMap({ Data(base64Encoded: $0) }),
              Array(signature) == expectedServerSignature else {
            throw SaslFailure(message: "the server's SCRAM signature does not match: it does not know the password")
        }
    }
}
