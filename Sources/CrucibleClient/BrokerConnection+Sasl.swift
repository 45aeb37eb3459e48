import CrucibleProtocol
import CrucibleSecurity
import NIOCore

extension BrokerConnection {
    /// Authenticates, and again before each session's end when the broker gives sessions a lifetime
    /// (`connections.max.reauth.ms`, KIP-368); a failed re-authentication closes
    /// the connection (its users see it closed and open another).
    func authenticateAndRenew(_ login: ClientSecurity.SaslLogin, timeout: TimeAmount) -> EventLoopFuture<Void> {
        authenticate(login, timeout: timeout).map { lifetimeMs in
            guard lifetimeMs > 0 else { return }
            // Half-way, not at librdkafka's 85-95%: this client pipelines, and requests already queued behind a
            // long poll when the renewal is sent must still find the old session alive.
            self.channel.eventLoop.scheduleTask(in: .milliseconds(lifetimeMs / 2)) {
                guard self.channel.isActive else { return }
                self.authenticateAndRenew(login, timeout: timeout).whenFailure { _ in self.close() }
            }
        }
    }

    /// SaslHandshake v1 then SaslAuthenticate frames (PLAIN: one; SCRAM: two and the server's signature checked).
    /// A refusal fails with the broker's error and message. Answers the session's lifetime in ms (0: unlimited).
    func authenticate(_ login: ClientSecurity.SaslLogin, timeout: TimeAmount) -> EventLoopFuture<Int64> {
        var handshake = SaslHandshakeRequest()
        handshake.mechanism = login.mechanism
        return send(handshake, version: 1, timeout: timeout).flatMap { response in
            let code = ErrorCode(rawValue: response.errorCode)
            guard code == .none else {
                return self.channel.eventLoop.makeFailedFuture(KafkaClientError.authentication(
                    "\(code): the broker does not take \(login.mechanism) (it takes \(response.mechanisms.joined(separator: ", ")))"))
            }
            if login.mechanism == SaslMechanismName.plain {
                return self.saslStep(PlainMechanism.message(user: login.user, password: login.password), timeout: timeout)
                    .map(\.lifetimeMs)
            }
            guard let mechanism = ScramMechanism(name: login.mechanism) else {
                return self.channel.eventLoop.makeFailedFuture(KafkaClientError.authentication("\(login.mechanism) is not supported"))
            }
            var scram = ScramClient(mechanism: mechanism, user: login.user, password: login.password)
            return self.saslStep(scram.firstMessage(), timeout: timeout).flatMap { serverFirst in
                do {
                    let final = try scram.finalMessage(serverFirst: serverFirst.bytes)
                    return self.saslStep(final, timeout: timeout).flatMapThrowing { serverFinal in
                        do { try scram.verify(serverFinal: serverFinal.bytes) } catch {
                            throw KafkaClientError.authentication("\(error)")
                        }
                        return serverFinal.lifetimeMs
                    }
                } catch {
                    return self.channel.eventLoop.makeFailedFuture(KafkaClientError.authentication("\(error)"))
                }
            }
        }
    }

    private func saslStep(_ bytes: [UInt8], timeout: TimeAmount) -> EventLoopFuture<(bytes: [UInt8], lifetimeMs: Int64)> {
        var request = SaslAuthenticateRequest()
        request.authBytes = ByteBuffer(bytes: bytes)
        let version = min(versions[.saslAuthenticate] ?? 0, 1)
        return send(request, version: version, timeout: timeout).flatMapThrowing { response in
            let code = ErrorCode(rawValue: response.errorCode)
            guard code == .none else {
                throw KafkaClientError.authentication("\(code): \(response.errorMessage ?? "")")
            }
            return (Array(response.authBytes.readableBytesView), response.sessionLifetimeMs)
        }
    }
}
