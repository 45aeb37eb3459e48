import CrucibleClient
import CrucibleController
import CrucibleSecurity

/// `kafka-configs.sh --entity-type users`: SCRAM credentials, set with
/// `--add-config 'SCRAM-SHA-256=[iterations=8192,password=secret]'`, removed with `--delete-config SCRAM-SHA-256`.
extension ConfigsCommand {
    func runUsers() throws {
        guard describe != alter else { throw UsageError("exactly one of --describe, --alter is required") }
        if alter && entityName == nil { throw UsageError("--alter --entity-type users needs --entity-name") }
        let changes = try alter ? scramChanges(user: entityName!) : []
        let client = try server.connect(clientId: "crucible-configs")
        defer { client.close() }
        do {
            if describe {
                for entry in try client.describeUserScramCredentials(entityName.map { [$0] }) {
                    if let error = entry.error {
                        guard error.errorCode == .resourceNotFound else { throw error }
                        continue  // Kafka prints nothing for a user without credentials
                    }
                    let listed = entry.credentials.map { "\($0.mechanism.name)=iterations=\($0.iterations)" }
                    print("SCRAM credential configs for user-principal '\(entry.user)' are \(listed.joined(separator: ", "))")
                }
            } else {
                for result in try client.alterUserScramCredentials(changes) {
                    if let error = result.error { throw error }
                }
                print("Completed updating config for user \(entityName!).")
            }
        } catch let error as KafkaClientError {
            Tool.fail("Error while executing config command with args '\(CommandLine.arguments.dropFirst().joined(separator: " "))'\n\(error)")
        }
    }

    private func scramChanges(user: String) throws -> [KafkaClient.ScramChange] {
        guard addConfig != nil || deleteConfig != nil else { throw UsageError("--alter needs --add-config or --delete-config") }
        // Split at the commas outside brackets, keeping the brackets' content whole.
        let upserts = try Self.splitConfigList(addConfig ?? "").map { entry -> KafkaClient.ScramChange in
            let (key, value) = try Tool.keyValue(entry, flag: "--add-config")
            guard let mechanism = ScramMechanism(name: key) else {
                throw UsageError("--add-config \(key): only SCRAM-SHA-256 and SCRAM-SHA-512 can be set for users")
            }
            let fields: [String: String]
            let credential: ScramCredential
            do {
                fields = try ScramConfigValue.parse(value, key: "--add-config \(key)")
                credential = try ScramConfigValue.credential(fields, mechanism: mechanism, key: "--add-config \(key)")
            } catch { throw UsageError("\(error)") }
            return .upsert(user: user, mechanism: mechanism, iterations: credential.iterations, password: fields["password"]!)
        }
        let deletes = try (deleteConfig ?? "").split(separator: ",").map { name -> KafkaClient.ScramChange in
            guard let mechanism = ScramMechanism(name: String(name)) else {
                throw UsageError("--delete-config \(name): only SCRAM-SHA-256 and SCRAM-SHA-512 can be removed for users")
            }
            return .delete(user: user, mechanism: mechanism)
        }
        return upserts + deletes
    }
}
