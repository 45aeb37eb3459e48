import CrucibleProtocol
import CrucibleSecurity
import NIOCore

/// The SASL side of one connection on a SASL listener. Until authentication completes only ApiVersions,
/// SaslHandshake and SaslAuthenticate may come; anything else closes the connection (as Kafka's
/// SaslServerAuthenticator does). Failures are answered with their error, then the connection closes. With
/// `connections.max.reauth.ms` the session has a lifetime: the client re-authenticates on the same connection
/// before it ends (KIP-368), and a request after it closes the connection. A re-authentication must end as the
/// same principal.
final class SaslGate {
    enum Verdict {
        /// Not a SASL matter: route the request as usual.
        case pass
        /// Answer with this frame; close the connection after it when `close`.
        case reply(ResponseFrame, close: Bool)
        /// Close without an answer.
        case reject(String)
    }

    private var session: SaslServerSession
    private let reauthMs: Int64
    private var expiresAtMs: Int64?

    init(mechanisms: [String], plainUsers: [String: String], reauthMs: Int64,
         scram: @escaping ScramServer.CredentialLookup) {
        session = SaslServerSession(enabledMechanisms: mechanisms,
                                    credentials: .init(plainUsers: plainUsers, scram: scram))
        self.reauthMs = reauthMs
    }

    var principal: String? { session.principal }
    /// After a v0 handshake the next frame is a bare token, not a request.
    var expectsRawToken: Bool { session.rawTokens }

    func admit(_ header: RequestHeader, body: ByteBuffer, nowMs: Int64) throws -> Verdict {
        switch header.apiKey {
        case .apiVersions?:
            return .pass
        case .saslHandshake?:
            var body = body
            let request = try SaslHandshakeRequest(from: &body, version: header.requestApiVersion)
            var response = SaslHandshakeResponse()
            response.mechanisms = session.enabledMechanisms
            switch session.handshake(mechanism: request.mechanism, version: header.requestApiVersion) {
            case .accepted:
                return .reply(frame(response, header), close: false)
            case .unsupported(let enabled):
                response.errorCode = ErrorCode.unsupportedSaslMechanism.rawValue
                response.mechanisms = enabled
                return .reply(frame(response, header), close: true)
            case .illegalState:
                response.errorCode = ErrorCode.illegalSaslState.rawValue
                return .reply(frame(response, header), close: true)
            }
        case .saslAuthenticate?:
            var body = body
            let request = try SaslAuthenticateRequest(from: &body, version: header.requestApiVersion)
            let (response, close) = authenticate(Array(request.authBytes.readableBytesView), nowMs: nowMs)
            return .reply(frame(response, header), close: close)
        default:
            // During a re-authentication the session being renewed still holds until it expires, so requests
            // already on their way are served (Crucible's own clients re-authenticate without draining them).
            if session.principal == nil {
                return .reject("\(header.apiKey.map { "\($0)" } ?? "api key \(header.requestApiKey)") before SASL authentication completed")
            }
            // Once the client has started renewing, requests it had already sent behind a long poll are still
            // served: librdkafka stops sending during a re-authentication, a pipelining client cannot.
            if let expiresAtMs, nowMs > expiresAtMs, !session.reauthenticating {
                return .reject("the SASL session of \(session.principal ?? "?") expired (connections.max.reauth.ms)")
            }
            return .pass
        }
    }

    /// A v0 handshake's bare token: the answer is a bare size-prefixed token too; a failure just closes.
    func rawToken(_ token: ByteBuffer, nowMs: Int64) -> (answer: ByteBuffer?, close: Bool) {
        let (response, close) = authenticate(Array(token.readableBytesView), nowMs: nowMs)
        guard response.errorCode == ErrorCode.none.rawValue else { return (nil, true) }
        var out = ByteBuffer()
        out.writeInteger(Int32(response.authBytes.readableBytes))
        var bytes = response.authBytes
        out.writeBuffer(&bytes)
        return (out, close)
    }

    private func authenticate(_ bytes: [UInt8], nowMs: Int64) -> (SaslAuthenticateResponse, close: Bool) {
        var response = SaslAuthenticateResponse()
        switch session.authenticate(bytes) {
        case .challenge(let answer):
            response.authBytes = ByteBuffer(bytes: answer)
            return (response, false)
        case .authenticated(_, let finalBytes):
            response.authBytes = ByteBuffer(bytes: finalBytes)
            if reauthMs > 0 {
                response.sessionLifetimeMs = reauthMs
                expiresAtMs = nowMs + reauthMs
            }
            return (response, false)
        case .failed(let message):
            response.errorCode = ErrorCode.saslAuthenticationFailed.rawValue
            response.errorMessage = message
            return (response, true)
        case .illegalState(let message):
            response.errorCode = ErrorCode.illegalSaslState.rawValue
            response.errorMessage = message
            return (response, true)
        }
    }

    private func frame<Response: KafkaResponse>(_ response: Response, _ header: RequestHeader) -> ResponseFrame {
        ResponseFrame(parts: response.encodeFrame(correlationId: header.correlationId, version: header.requestApiVersion))
    }
}
