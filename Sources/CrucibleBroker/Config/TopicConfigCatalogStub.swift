// TEMPORARY until TopicConfigCatalog.swift lands.
public struct TopicConfigDefinition: Sendable {
    public enum Kind: String, Sendable { case boolean = "BOOLEAN", string = "STRING", int = "INT", short = "SHORT", long = "LONG", double = "DOUBLE", list = "LIST", className = "CLASS", password = "PASSWORD" }
    public let name: String
    public let kind: Kind
    public let defaultValue: String?
    public let brokerSynonyms: [String]
    public let deprecated: Bool
    public let honoured: Bool
    public func validate(_ value: String) throws {}
}
public enum TopicConfigCatalog {
    public static let all: [TopicConfigDefinition] = [
        TopicConfigDefinition(name: "cleanup.policy", kind: .list, defaultValue: "delete", brokerSynonyms: ["log.cleanup.policy"], deprecated: false, honoured: true),
        TopicConfigDefinition(name: "leader.replication.throttled.replicas", kind: .list, defaultValue: "", brokerSynonyms: [], deprecated: false, honoured: true),
        TopicConfigDefinition(name: "follower.replication.throttled.replicas", kind: .list, defaultValue: "", brokerSynonyms: [], deprecated: false, honoured: true),
        TopicConfigDefinition(name: "retention.ms", kind: .long, defaultValue: "604800000", brokerSynonyms: ["log.retention.ms", "log.retention.minutes", "log.retention.hours"], deprecated: false, honoured: true),
        TopicConfigDefinition(name: "min.insync.replicas", kind: .int, defaultValue: "1", brokerSynonyms: ["min.insync.replicas"], deprecated: false, honoured: true),
        TopicConfigDefinition(name: "segment.bytes", kind: .int, defaultValue: "1073741824", brokerSynonyms: ["log.segment.bytes"], deprecated: false, honoured: true),
        TopicConfigDefinition(name: "unclean.leader.election.enable", kind: .boolean, defaultValue: "false", brokerSynonyms: ["unclean.leader.election.enable"], deprecated: false, honoured: true),
    ]
    public static let byName = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
    public static func validate(key: String, value: String) throws {
        guard byName[key] != nil else { throw ConfigError(key: key, "unknown topic config") }
    }
    public static func listItems(_ value: String) -> [String] {
        value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
