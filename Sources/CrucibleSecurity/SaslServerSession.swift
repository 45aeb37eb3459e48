/// The SASL state of one connection on a SASL listener (Kafka's SaslServerAuthenticator), pure: SaslHandshake
/// picks a mechanism, SaslAuthenticate frames carry the exchange, and the connection is authenticated as a
/// principal once it completes. A handshake after that starts a re-authentication (KIP-368), which must end as
/// the same principal with the same mechanism.
public struct SaslServerSession {
    /// Where credentials come from: PLAIN users of the listener's JAAS config (`user_NAME="password"`), and the
    /// SCRAM credentials of the metadata log (PLAIN also accepts a SCRAM user's password).
    public struct Credentials {
        public var plainUsers: [String: String]
        public var scram: ScramServer.CredentialLookup

        public init(plainUsers: [String: String], scram: @escaping ScramServer.CredentialLookup) {
            self.plainUsers = plainUsers
            self.scram = scram
        }

        func plainMatches(user: String, password: String) -> Bool {
            if let expected = plainUsers[user] { return expected == password }
            return ScramMechanism.allCases.contains { mechanism in
                scram(user, mechanism)?.matches(password: password, mechanism: mechanism) == true
            }
        }
    }

    public enum HandshakeOutcome: Equatable {
        case accepted
        case unsupported(enabled: [String])
        case illegalState
    }

    public enum StepOutcome: Equatable {
        /// Send these bytes back; more client messages follow.
        case challenge([UInt8])
        /// Authenticated as `principal`; send the final bytes (empty for PLAIN).
        case authenticated(principal: String, finalBytes: [UInt8])
        /// SASL_AUTHENTICATION_FAILED with this message, then the connection closes.
        case failed(String)
        /// ILLEGAL_SASL_STATE: a SaslAuthenticate with no handshake before it.
        case illegalState(String)
    }

    private enum State {
        case awaitingHandshake
        case plain
        case scram(ScramServer)
        case authenticated
    }

    public let enabledMechanisms: [String]
    private let credentials: Credentials
    private var state = State.awaitingHandshake
    private var mechanism: String?
    public private(set) var principal: String?
    /// Set between a handshake after authentication and the end of that re-authentication.
    public private(set) var reauthenticating = false
    /// Handshake v0 is followed by raw tokens, not SaslAuthenticate requests.
    public private(set) var rawTokens = false

    public init(enabledMechanisms: [String], credentials: Credentials) {
        self.enabledMechanisms = enabledMechanisms
        self.credentials = credentials
    }

    public var isAuthenticated: Bool { principal != nil && !reauthenticating }

    public mutating func handshake(mechanism requested: String, version: Int16) -> HandshakeOutcome {
        switch state {
        case .awaitingHandshake, .authenticated: break
        case .plain, .scram: return .illegalState
        }
        guard enabledMechanisms.contains(requested) else { return .unsupported(enabled: enabledMechanisms) }
        if principal != nil {
            // KIP-368: re-authentication keeps the mechanism.
            guard requested == mechanism else { return .unsupported(enabled: [mechanism ?? requested]) }
            reauthenticating = true
        }
        mechanism = requested
        rawTokens = version == 0
        if requested == SaslMechanismName.plain {
            state = .plain
        } else if let scram = ScramMechanism(name: requested) {
            state = .scram(ScramServer(mechanism: scram, lookup: credentials.scram))
        } else {
            return .unsupported(enabled: enabledMechanisms)
        }
        return .accepted
    }

    public mutating func authenticate(_ bytes: [UInt8]) -> StepOutcome {
        switch state {
        case .awaitingHandshake, .authenticated:
            return .illegalState("Unexpected SaslAuthenticate request: no SaslHandshake before it")
        case .plain:
            do {
                let message = try PlainMechanism.parse(bytes)
                guard credentials.plainMatches(user: message.user, password: message.password) else {
                    return .failed("Authentication failed: Invalid username or password")
                }
                return finish(user: message.user, finalBytes: [])
            } catch {
                return .failed("\(error)")
            }
        case .scram(var server):
            do {
                let answer = try server.respond(to: bytes)
                if let user = server.authenticatedUser { return finish(user: user, finalBytes: answer) }
                state = .scram(server)
                return .challenge(answer)
            } catch {
                return .failed("\(error)")
            }
        }
    }

    private mutating func finish(user: String, finalBytes: [UInt8]) -> StepOutcome {
        let authenticated = "User:\(user)"
        if let principal, principal != authenticated {
            return .failed("Cannot change principals during re-authentication from \(principal): \(authenticated)")
        }
        principal = authenticated
        reauthenticating = false
        rawTokens = false
        state = .authenticated
        return .authenticated(principal: authenticated, finalBytes: finalBytes)
    }
}
