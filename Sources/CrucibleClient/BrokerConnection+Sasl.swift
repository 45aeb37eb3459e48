import CrucibleProtocol
import CrucibleSecurity
import NIOCore

extension BrokerConnection {
    /// SaslHandshake v1 then SaslAuthenticate frames (PLAIN: one; SCRAM: two and the server's signature checked).
    /// A refusal fails with the broker's error and message; the caller closes the connection.
    func authenticate(_ login: ClientSecurity.SaslLogin, timeout: TimeAmount) -> EventLoopFuture<Void> {
        var handshake = SaslHandshakeRequest()
        handshake.mechanism = login.mechanism
        return send(handshake, version: 1, timeout: timeout).flatMap { response in
            let code = ErrorCode(rawValue: response.errorCode)
            guard code == .none else {
                return self.channel.eventLoop.makeFailedFuture(KafkaClientError.authentication(
                    "\(code): the broker does not take \(login.mechanism) (it takes \(response.mechanisms.joined(separator: ", ")))"))
            }
            if login.mechanism == SaslMechanismName.plain {
                return self.saslStep(PlainMechanism.message(user: login.user, password: login.password), timeout: timeout).map { _ in }
            }
            guard let mechanism = ScramMechanism(name: login.mechanism) else {
                return self.channel.eventLoop.makeFailedFuture(KafkaClientError.authentication("\(login.mechanism) is not supported"))
            }
            var scram = ScramClient(mechanism: mechanism, user: login.user, password: login.password)
            return self.saslStep(scram.firstMessage(), timeout: timeout).flatMap { serverFirst in
                do {
                    let final = try scram.finalMessage(serverFirst: serverFirst)
                    return self.saslStep(final, timeout: timeout).flatMapThrowing { serverFinal in
                        do { try scram.verify(serverFinal: serverFinal) } catch {
                            throw KafkaClientError.authentication("\(error)")
                        }
                    }
                } catch {
                    return self.channel.eventLoop.makeFailedFuture(KafkaClientError.authentication("\(error)"))
                }
            }
        }
    }

    private func saslStep(_ bytes: [UInt8], timeout: TimeAmount) -> EventLoopFuture<[UInt8]> {
        var request = SaslAuthenticateRequest()
        request.authBytes = ByteBuffer(bytes: bytes)
        let version = min(versions[.saslAuthenticate] ?? 0, 1)
        return send(request, version: version, timeout: timeout).flatMapThrowing { response in
            let code = ErrorCode(rawValue: response.errorCode)
            guard code == .none else {
                throw KafkaClientError.authentication("\(code): \(response.errorMessage ?? "")")
            }
            return Array(response.authBytes.readableBytesView)
        }
    }
}
