import ArgumentParser
import CrucibleClient

/// `kafka-configs.sh` for topics and brokers: describe and alter dynamic configs (a broker's own with
/// `--entity-name ID`, the cluster-wide default with `--entity-default`).
struct ConfigsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "configs", abstract: "Describe or alter topic and broker configs (as kafka-configs.sh).")

    @OptionGroup var server: BootstrapServer

    @Option(name: .long, help: "Entity type: topics, brokers or users.") var entityType: String
    @Option(name: .long, help: "Entity name: the topic, the broker id, or the user.") var entityName: String?
    @Flag(name: .long, help: "With --entity-type brokers: the cluster-wide default.") var entityDefault = false

    @Flag(name: .long, help: "Show the entity's dynamic configs.") var describe = false
    @Flag(name: .long, help: "With --describe: show every config, not only the dynamic ones.") var all = false
    @Flag(name: .long, help: "Change configs.") var alter = false
    @Option(name: .long, help: "With --alter: K=V[,K=V...] to set (a value with commas goes in [brackets]).")
    var addConfig: String?
    @Option(name: .long, help: "With --alter: K[,K...] to remove.") var deleteConfig: String?

    func run() throws {
        let type: ConfigResourceType
        switch entityType {
        case "topics": type = .topic
        case "brokers": type = .broker
        case "users": return try runUsers()
        default: throw UsageError("--entity-type \(entityType): expected topics, brokers or users")
        }
        guard (entityName != nil) != entityDefault, !entityDefault || type == .broker else {
            throw UsageError("exactly one of --entity-name, --entity-default (brokers only) is required")
        }
        if type == .broker, let entityName, Int32(entityName) == nil {
            throw UsageError("--entity-name \(entityName): a broker is named by its id")
        }
        let entityName = self.entityName ?? ""
        let label = type == .topic ? "topic \(entityName)" : entityDefault ? "brokers are" : "broker \(entityName)"
        guard describe != alter else { throw UsageError("exactly one of --describe, --alter is required") }
        let changes = try alter ? parseChanges() : []
        let client = try server.connect(clientId: "crucible-configs")
        defer { client.close() }
        do {
            if describe {
                let entries = try client.describeConfigs(type, entityName)
                let dynamic: Set<ConfigSource> = type == .topic ? [.dynamicTopic]
                    : entityDefault ? [.dynamicDefaultBroker] : [.dynamicBroker, .dynamicDefaultBroker]
                print(entityDefault ? "Default configs for brokers in the cluster are:"
                      : "\(all ? "All" : "Dynamic") configs for \(label) are:")
                for entry in entries where all || dynamic.contains(entry.source) { print(Self.describeLine(entry)) }
            } else {
                try client.incrementalAlterConfigs(type, entityName, changes)
                print(entityDefault ? "Completed updating default config for brokers in the cluster."
                      : "Completed updating config for \(label).")
            }
        } catch let error as KafkaClientError {
            Tool.fail("Error while executing config command with args '\(CommandLine.arguments.dropFirst().joined(separator: " "))'\n"
                      + "\(TopicsCommand.explain(error, topic: entityName))")
        }
    }

    private func parseChanges() throws -> [ConfigChange] {
        guard addConfig != nil || deleteConfig != nil else {
            throw UsageError("--alter needs --add-config or --delete-config")
        }
        let sets = try Self.splitConfigList(addConfig ?? "").map { entry -> ConfigChange in
            let (key, value) = try Tool.keyValue(entry, flag: "--add-config")
            return .set(key, value)
        }
        let deletes = (deleteConfig ?? "").split(separator: ",").map { ConfigChange.delete(String($0)) }
        return sets + deletes
    }

    /// Splits `k=v,k2=[a,b]` at the commas outside brackets, and drops the brackets (Kafka's syntax for values
    /// that are lists).
    static func splitConfigList(_ text: String) -> [String] {
        var entries: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            switch character {
            case "[": depth += 1
            case "]": depth -= 1
            case "," where depth == 0:
                entries.append(current)
                current = ""
            default: current.append(character)
            }
        }
        entries.append(current)
        return entries.filter { !$0.isEmpty }
    }

    /// `  key=value sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:key=value, DEFAULT_CONFIG:log.key=v}`
    static func describeLine(_ entry: ConfigEntry) -> String {
        func shown(_ value: String?) -> String { entry.isSensitive ? "null" : value ?? "null" }
        // Kafka lists the entry's own source first among its synonyms; a broker that sends none gets that one.
        let synonyms = entry.synonyms.isEmpty ? [(name: entry.name, value: entry.value, source: entry.source)] : entry.synonyms
        let synonymText = synonyms.map { "\($0.source.name):\($0.name)=\(shown($0.value))" }.joined(separator: ", ")
        return "  \(entry.name)=\(shown(entry.value)) sensitive=\(entry.isSensitive) synonyms={\(synonymText)}"
    }
}
