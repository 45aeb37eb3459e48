import CrucibleProtocol
import CrucibleSecurity
import NIOCore

/// One change AlterUserScramCredentials asks for.
public enum ScramCredentialChange: Sendable {
    case upsert(user: String, mechanism: Int8, iterations: Int32, salt: [UInt8], saltedPassword: [UInt8])
    case delete(user: String, mechanism: Int8)

    var user: String {
        switch self {
        case .upsert(let user, _, _, _, _), .delete(let user, _): return user
        }
    }
}

extension ControllerCommands {
    /// Kafka's ScramControlManager rules: one change per user per request, known mechanisms, iterations within
    /// bounds, deletions of existing credentials only. Each user gets its own result; valid changes go through
    /// even when others in the request fail.
    static func alterScramCredentials(_ changes: [ScramCredentialChange], image: MetadataImage)
        -> ([any KafkaMetadataRecord], [(user: String, error: ErrorCode, message: String?)]) {
        var counts: [String: Int] = [:]
        for change in changes { counts[change.user, default: 0] += 1 }
        var records: [any KafkaMetadataRecord] = []
        var results: [(user: String, error: ErrorCode, message: String?)] = []
        var answered = Set<String>()
        for change in changes {
            let user = change.user
            if counts[user]! > 1 {
                if answered.insert(user).inserted {
                    results.append((user, .duplicateResource, "A user credential cannot be altered twice in the same request"))
                }
                continue
            }
            guard !user.isEmpty else {
                results.append((user, .unacceptableCredential, "Username must not be empty"))
                continue
            }
            switch change {
            case .upsert(_, let mechanismType, let iterations, let salt, let saltedPassword):
                guard let mechanism = ScramMechanism(rawValue: mechanismType) else {
                    results.append((user, .unsupportedSaslMechanism, "Unknown SCRAM mechanism"))
                    continue
                }
                guard iterations >= ScramMechanism.iterationRange.lowerBound else {
                    results.append((user, .unacceptableCredential, "Too few iterations"))
                    continue
                }
                guard iterations <= ScramMechanism.iterationRange.upperBound else {
                    results.append((user, .unacceptableCredential, "Too many iterations"))
                    continue
                }
                guard !salt.isEmpty, !saltedPassword.isEmpty else {
                    results.append((user, .unacceptableCredential, "Salt and salted password must not be empty"))
                    continue
                }
                let credential = ScramCredential(saltedPassword: saltedPassword, salt: salt, iterations: iterations,
                                                 mechanism: mechanism)
                records.append(UserScramCredentialRecord(user: user, mechanism: mechanism, credential: credential))
                results.append((user, .none, nil))
            case .delete(_, let mechanismType):
                guard let mechanism = ScramMechanism(rawValue: mechanismType) else {
                    results.append((user, .unsupportedSaslMechanism, "Unknown SCRAM mechanism"))
                    continue
                }
                guard image.scramCredentials[user]?[mechanism] != nil else {
                    results.append((user, .resourceNotFound, "Attempt to delete a user credential that does not exist"))
                    continue
                }
                var removal = RemoveUserScramCredentialRecord()
                removal.name = user
                removal.mechanism = mechanism.rawValue
                records.append(removal)
                results.append((user, .none, nil))
            }
        }
        return (records, results)
    }
}

extension QuorumController {
    public func alterScramCredentials(_ changes: [ScramCredentialChange])
        -> EventLoopFuture<[(user: String, error: ErrorCode, message: String?)]> {
        command("alterScramCredentials") { image in ControllerCommands.alterScramCredentials(changes, image: image) }
    }
}
