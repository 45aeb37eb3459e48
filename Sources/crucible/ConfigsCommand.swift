import ArgumentParser
import CrucibleClient

/// `kafka-configs.sh` for topics: describe and alter dynamic topic configs.
struct ConfigsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "configs", abstract: "Describe or alter topic configs (as kafka-configs.sh).")

    @OptionGroup var server: BootstrapServer

    @Option(name: .long, help: "Entity type: topics.") var entityType: String
    @Option(name: .long, help: "Entity name: the topic.") var entityName: String

    @Flag(name: .long, help: "Show the entity's dynamic configs.") var describe = false
    @Flag(name: .long, help: "With --describe: show every config, not only the dynamic ones.") var all = false
    @Flag(name: .long, help: "Change configs.") var alter = false
    @Option(name: .long, help: "With --alter: K=V[,K=V...] to set (a value with commas goes in [brackets]).")
    var addConfig: String?
    @Option(name: .long, help: "With --alter: K[,K...] to remove.") var deleteConfig: String?

    func run() throws {
        guard entityType == "topics" else {
            throw UsageError("--entity-type \(entityType): only topics is supported")
        }
        guard describe != alter else { throw UsageError("exactly one of --describe, --alter is required") }
        let changes = try alter ? parseChanges() : []
        let client = try server.connect(clientId: "crucible-configs")
        defer { client.close() }
        do {
            if describe {
                let entries = try client.describeConfigs(.topic, entityName)
                print("\(all ? "All" : "Dynamic") configs for topic \(entityName) are:")
                for entry in entries where all || entry.source == .dynamicTopic { print(Self.describeLine(entry)) }
            } else {
                try client.incrementalAlterConfigs(.topic, entityName, changes)
                print("Completed updating config for topic \(entityName).")
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
