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

    var mechanism: Int8 {
        switch self {
        case .upsert(_, let mechanism, _, _, _), .delete(_, let mechanism): return mechanism
        }
    }
}

extension ControllerCommands {
    /// Kafka's rules: a user's mechanism changed once per request (else DUPLICATE_RESOURCE for that user), known
    /// mechanisms, iterations within bounds, deletions of existing credentials only. One result per user, in
    /// the order users first appear; a user with any failing change gets that error and none of its changes.
    static func alterScramCredentials(_ changes: [ScramCredentialChange], image: MetadataImage)
        -> ([any KafkaMetadataRecord], [(user: String, error: ErrorCode, message: String?)]) {
        var users: [String] = []
        var byUser: [String: [ScramCredentialChange]] = [:]
        for change in changes {
            if byUser[change.user] == nil { users.append(change.user) }
            byUser[change.user, default: []].append(change)
        }
        var records: [any KafkaMetadataRecord] = []
        var results: [(user: String, error: ErrorCode, message: String?)] = []
        for user in users {
            let mechanisms = byUser[user]!.map(\.mechanism)
            if Set(mechanisms).count < mechanisms.count {
                results.append((user, .duplicateResource, "A user credential cannot be altered twice in the same request"))
                continue
            }
            do {
                let userRecords = try byUser[user]!.map { try record(for: $0, image: image) }
                records += userRecords
                results.append((user, .none, nil))
            } catch let refusal as ScramRefusal {
                results.append((user, refusal.code, refusal.message))
            } catch {
                results.append((user, .unknownServerError, "\(error)"))
            }
        }
        return (records, results)
    }

    private struct ScramRefusal: Error {
        let code: ErrorCode
        let message: String
    }

    private static func record(for change: ScramCredentialChange, image: MetadataImage) throws -> any KafkaMetadataRecord {
        guard !change.user.isEmpty else { throw ScramRefusal(code: .unacceptableCredential, message: "Username must not be empty") }
        guard let mechanism = ScramMechanism(rawValue: change.mechanism) else {
            throw ScramRefusal(code: .unsupportedSaslMechanism, message: "Unknown SCRAM mechanism")
        }
        switch change {
        case .upsert(let user, _, let iterations, let salt, let saltedPassword):
            guard iterations >= ScramMechanism.iterationRange.lowerBound else {
                throw ScramRefusal(code: .unacceptableCredential, message: "Too few iterations")
            }
            guard iterations <= ScramMechanism.iterationRange.upperBound else {
                throw ScramRefusal(code: .unacceptableCredential, message: "Too many iterations")
            }
            guard !salt.isEmpty, !saltedPassword.isEmpty else {
                throw ScramRefusal(code: .unacceptableCredential, message: "Salt and salted password must not be empty")
            }
            return UserScramCredentialRecord(user: user, mechanism: mechanism, credential: ScramCredential(
                saltedPassword: saltedPassword, salt: salt, iterations: iterations, mechanism: mechanism))
        case .delete(let user, _):
            guard image.scramCredentials[user]?[mechanism] != nil else {
                throw ScramRefusal(code: .resourceNotFound, message: "Attempt to delete a user credential that does not exist")
            }
            var removal = RemoveUserScramCredentialRecord()
            removal.name = user
            removal.mechanism = mechanism.rawValue
            return removal
        }
    }
}

extension QuorumController {
    public func alterScramCredentials(_ changes: [ScramCredentialChange])
        -> EventLoopFuture<[(user: String, error: ErrorCode, message: String?)]> {
        command("alterScramCredentials") { image in ControllerCommands.alterScramCredentials(changes, image: image) }
    }
}
