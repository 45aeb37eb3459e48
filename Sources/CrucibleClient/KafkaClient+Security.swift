import CrucibleProtocol
import CrucibleSecurity
import NIOCore

/// SCRAM credentials (KIP-554): the password is salted here, and only the salted form goes over the wire.
extension KafkaClient {
    public enum ScramChange {
        case upsert(user: String, mechanism: ScramMechanism, iterations: Int32, password: String)
        case delete(user: String, mechanism: ScramMechanism)
    }

    /// Applies `changes`; each user's result, failed ones with Kafka's error.
    public func alterUserScramCredentials(_ changes: [ScramChange]) throws -> [(user: String, error: KafkaClientError?)] {
        var request = AlterUserScramCredentialsRequest()
        for change in changes {
            switch change {
            case .upsert(let user, let mechanism, let iterations, let password):
                var upsertion = AlterUserScramCredentialsRequest.ScramCredentialUpsertion()
                upsertion.name = user
                upsertion.mechanism = mechanism.rawValue
                upsertion.iterations = iterations
                let salt = ScramCredential.randomSalt()
                upsertion.salt = ByteBuffer(bytes: salt)
                upsertion.saltedPassword = ByteBuffer(bytes: ScramCredential.saltedPassword(
                    password, salt: salt, iterations: iterations, mechanism: mechanism))
                request.upsertions.append(upsertion)
            case .delete(let user, let mechanism):
                var deletion = AlterUserScramCredentialsRequest.ScramCredentialDeletion()
                deletion.name = user
                deletion.mechanism = mechanism.rawValue
                request.deletions.append(deletion)
            }
        }
        let (response, _) = try call(request, on: try anyConnection())
        return response.results.map { result in
            let code = ErrorCode(rawValue: result.errorCode)
            return (result.user, code == .none ? nil : KafkaClientError.kafka(code, message: result.errorMessage))
        }
    }

    /// Each user's mechanisms and iterations (nil users: every user with a credential).
    public func describeUserScramCredentials(_ users: [String]?) throws
        -> [(user: String, credentials: [(mechanism: ScramMechanism, iterations: Int32)], error: KafkaClientError?)] {
        var request = DescribeUserScramCredentialsRequest()
        request.users = users?.map { name in
            var entry = DescribeUserScramCredentialsRequest.UserName()
            entry.name = name
            return entry
        }
        let (response, _) = try call(request, on: try anyConnection())
        try ErrorCode(rawValue: response.errorCode).check("DescribeUserScramCredentials")
        return response.results.map { result in
            let code = ErrorCode(rawValue: result.errorCode)
            let credentials = result.credentialInfos.compactMap { info in
                ScramMechanism(rawValue: info.mechanism).map { (mechanism: $0, iterations: info.iterations) }
            }
            return (result.user, credentials, code == .none ? nil : KafkaClientError.kafka(code, message: result.errorMessage))
        }
    }
}
