import CrucibleController
import CrucibleProtocol
import CrucibleSecurity
import NIOCore

/// SCRAM credentials (KIP-554) and the SASL requests that reach the API table: on a SASL listener the
/// connection's SaslGate answers SaslHandshake and SaslAuthenticate first, so they arrive here only from a
/// listener without SASL, or after authentication, and Kafka answers those ILLEGAL_SASL_STATE.
extension BrokerApis {
    func serveSecurity(in table: inout ApiTable) {
        table.serve(SaslHandshakeRequest.self, versions: 0...1) { _, _ in
            var response = SaslHandshakeResponse()
            response.errorCode = ErrorCode.illegalSaslState.rawValue
            return .now(response)
        }
        table.serve(SaslAuthenticateRequest.self, versions: 0...2) { _, _ in
            var response = SaslAuthenticateResponse()
            response.errorCode = ErrorCode.illegalSaslState.rawValue
            response.errorMessage = "SaslAuthenticate request received after successful authentication, or on a listener without SASL"
            return .now(response)
        }
        table.serve(DescribeUserScramCredentialsRequest.self, versions: 0...0, describeUserScramCredentials)
    }

    /// Mechanisms and iterations of each user asked about (all users when the list is null); never keys or salts.
    func describeUserScramCredentials(_ request: DescribeUserScramCredentialsRequest,
                                      _ context: RequestContext) -> Reply<DescribeUserScramCredentialsResponse> {
        let credentials = controller.currentImage.scramCredentials
        var response = DescribeUserScramCredentialsResponse()
        let asked = request.users?.map(\.name) ?? credentials.keys.sorted()
        var counts: [String: Int] = [:]
        for user in asked { counts[user, default: 0] += 1 }
        var seen = Set<String>()
        for user in asked where seen.insert(user).inserted {
            var result = DescribeUserScramCredentialsResponse.DescribeUserScramCredentialsResult()
            result.user = user
            result.errorMessage = nil
            if counts[user]! > 1 {
                result.errorCode = ErrorCode.duplicateResource.rawValue
                result.errorMessage = "Cannot describe SCRAM credentials for the same user twice in a single request: \(user)"
            } else if let mechanisms = credentials[user] {
                result.credentialInfos = mechanisms.sorted { $0.key.rawValue < $1.key.rawValue }.map { mechanism, credential in
                    var info = DescribeUserScramCredentialsResponse.CredentialInfo()
                    info.mechanism = mechanism.rawValue
                    info.iterations = credential.iterations
                    return info
                }
            } else {
                result.errorCode = ErrorCode.resourceNotFound.rawValue
                result.errorMessage = "Attempt to describe a user credential that does not exist: \(user)"
            }
            response.results.append(result)
        }
        response.errorMessage = nil
        return .now(response)
    }

    func alterUserScramCredentials(_ request: AlterUserScramCredentialsRequest,
                                   _ context: RequestContext) -> Reply<AlterUserScramCredentialsResponse> {
        let changes = request.deletions.map { ScramCredentialChange.delete(user: $0.name, mechanism: $0.mechanism) }
            + request.upsertions.map {
                ScramCredentialChange.upsert(user: $0.name, mechanism: $0.mechanism, iterations: $0.iterations,
                                             salt: Array($0.salt.readableBytesView),
                                             saltedPassword: Array($0.saltedPassword.readableBytesView))
            }
        return .later(controller.alterScramCredentials(changes).map { results in
            var response = AlterUserScramCredentialsResponse()
            response.results = results.map { user, error, message in
                var result = AlterUserScramCredentialsResponse.AlterUserScramCredentialsResult()
                result.user = user
                result.errorCode = error.rawValue
                result.errorMessage = message
                return result
            }
            return HandlerOutput(response: response)
        })
    }
}

extension ControllerRefusal {
    static func alterUserScramCredentials(_ request: AlterUserScramCredentialsRequest,
                                          _ code: ErrorCode) -> AlterUserScramCredentialsResponse {
        var response = AlterUserScramCredentialsResponse()
        let users = request.deletions.map(\.name) + request.upsertions.map(\.name)
        response.results = users.map { user in
            var result = AlterUserScramCredentialsResponse.AlterUserScramCredentialsResult()
            result.user = user
            result.errorCode = code.rawValue
            result.errorMessage = nil
            return result
        }
        return response
    }
}
