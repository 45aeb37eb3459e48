/// One topic-level config as Kafka 3.9 defines it. Clients (kafka-topics, AdminClient, Terraform providers) send any
/// of these in CreateTopics / AlterConfigs and expect Kafka's verdict and Kafka's DescribeConfigs answer, whether or
/// not Crucible acts on the key, so the catalogue covers every key Kafka knows rather than only the ones we use.
public struct TopicConfigDefinition: Sendable {
    /// Kafka's ConfigDef.Type names; DescribeConfigs v3+ reports them and AlterConfigs APPEND/SUBTRACT need LIST.
    public enum Kind: String, Sendable {
        case boolean = "BOOLEAN", string = "STRING", int = "INT", short = "SHORT", long = "LONG", double = "DOUBLE"
        case list = "LIST", className = "CLASS", password = "PASSWORD"
    }

    /// Kafka's validators, kept as data so the table below reads like Kafka's own `define` calls.
    enum Rule: Sendable {
        case any
        /// Bounds are whole numbers in every Kafka topic config; the value is compared as a double, like Kafka.
        case atLeast(Int64)
        case between(Int64, Int64)
        case oneOf([String])
        case eachOneOf([String])
        /// Deflater levels 1...9, or -1 for zlib's own default.
        case gzipLevel
        /// `*` or `partition:broker` pairs; empty items are tolerated, as Kafka's pattern allows them.
        case throttledReplicas
        /// Anything Kafka's MetadataVersion.fromVersionString resolves.
        case messageFormatVersion
        /// Kafka refuses `true` unless remote.log.storage.system.enable is set; Crucible has no tiered storage.
        case noTieredStorage
    }

    public let name: String
    public let kind: Kind
    /// Kafka's default, as DescribeConfigs shows it; nil = null.
    public let defaultValue: String?
    /// Broker keys whose value replaces the default, highest precedence first (Kafka's ServerTopicConfigSynonyms).
    public let brokerSynonyms: [String]
    /// Kafka 3.x still accepts the key, but it is deprecated and has no effect we need to reproduce.
    public let deprecated: Bool
    /// Crucible acts on the value; the other keys are stored and described but otherwise ignored.
    public let honoured: Bool
    let rule: Rule

    /// Throws ConfigError(key: name, …) when Kafka would refuse the value, parsing it as Kafka's ConfigDef does.
    public func validate(_ value: String) throws {
        let text = javaTrimmed(value)
        var number: Double?
        var items: [String] = [text]
        switch kind {
        case .boolean:
            guard text.lowercased() == "true" || text.lowercased() == "false" else {
                throw ConfigError(key: name, "'\(value)' is not true or false")
            }
        case .int: number = Int32(text).map(Double.init)
        case .short: number = Int16(text).map(Double.init)
        case .long: number = Int64(text).map(Double.init)
        case .double: number = javaDouble(text)
        case .list: items = kafkaListItems(text)
        case .string, .className, .password: break
        }
        if [.int, .short, .long, .double].contains(kind), number == nil {
            throw ConfigError(key: name, "'\(value)' is not a number of type \(kind.rawValue)")
        }
        try check(text, number: number, items: items)
    }

    private func check(_ text: String, number: Double?, items: [String]) throws {
        switch rule {
        case .any:
            return
        case .atLeast(let min):
            // Kafka compares as doubles, so NaN passes every bound; mirror that rather than be stricter.
            if let n = number, n < Double(min) { throw ConfigError(key: name, "\(text) is below the minimum \(min)") }
        case .between(let min, let max):
            let allowed = "allowed \(min) to \(max)"
            if let n = number, n < Double(min) {
                throw ConfigError(key: name, "\(text) is below the minimum \(min) (\(allowed))")
            }
            if let n = number, n > Double(max) {
                throw ConfigError(key: name, "\(text) is above the maximum \(max) (\(allowed))")
            }
        case .oneOf(let allowed):
            if !allowed.contains(text) {
                throw ConfigError(key: name, "'\(text)' is not one of: \(allowed.joined(separator: ", "))")
            }
        case .eachOneOf(let allowed):
            // Case-sensitive, and an empty item (`delete,,compact`) is refused, as Kafka's ValidList does.
            for item in items where !allowed.contains(item) {
                throw ConfigError(key: name, "'\(item)' in '\(text)' is not one of: \(allowed.joined(separator: ", "))")
            }
        case .gzipLevel:
            if let n = number, n > 9 || (n < 1 && n != -1) {
                throw ConfigError(key: name, "\(text) is not a gzip level: allowed 1 to 9, or -1 for the codec default")
            }
        case .throttledReplicas:
            let pairs = items.allSatisfy { $0.isEmpty || isReplicaPair($0) }
            if !pairs && items.joined() != "*" {
                throw ConfigError(key: name, "'\(text)' must be '*' or partitionId:brokerId pairs such as 0:101,1:102")
            }
        case .messageFormatVersion:
            if !TopicConfigCatalog.isKnownMessageFormatVersion(text) {
                throw ConfigError(key: name, "'\(text)' is not a known version (e.g. 0.10.2, 2.8, 3.0-IV1)")
            }
        case .noTieredStorage:
            if text.lowercased() == "true" {
                throw ConfigError(key: name, "tiered storage is disabled on this broker, so no topic can enable it")
            }
        }
    }
}

public enum TopicConfigCatalog {
    private static let codecs = ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]
    private static let longMax = String(Int64.max)

    // Kafka 3.9's LogConfig, key by key; defaults are the values a broker with an empty server.properties reports.
    public static let all: [TopicConfigDefinition] = [
        def("cleanup.policy", .list, "delete", ["log.cleanup.policy"], .eachOneOf(["compact", "delete"]),
            honoured: true),
        def("compression.gzip.level", .int, "-1", ["compression.gzip.level"], .gzipLevel),
        def("compression.lz4.level", .int, "9", ["compression.lz4.level"], .between(1, 17)),
        def("compression.type", .string, "producer", ["compression.type"], .oneOf(codecs), honoured: true),
        def("compression.zstd.level", .int, "3", ["compression.zstd.level"], .between(-131_072, 22)),
        def("delete.retention.ms", .long, "86400000", ["log.cleaner.delete.retention.ms"], .atLeast(0), honoured: true),
        def("file.delete.delay.ms", .long, "60000", ["log.segment.delete.delay.ms"], .atLeast(0)),
        def("flush.messages", .long, longMax, ["log.flush.interval.messages"], .atLeast(1), honoured: true),
        def("flush.ms", .long, longMax, ["log.flush.interval.ms", "log.flush.scheduler.interval.ms"], .atLeast(0),
            honoured: true),
        // Set by kafka-reassign-partitions; no broker-wide default exists.
        def("follower.replication.throttled.replicas", .list, "", [], .throttledReplicas, honoured: true),
        def("index.interval.bytes", .int, "4096", ["log.index.interval.bytes"], .atLeast(0), honoured: true),
        def("leader.replication.throttled.replicas", .list, "", [], .throttledReplicas, honoured: true),
        // -2 means "use retention.bytes / retention.ms"; only meaningful with tiered storage.
        def("local.retention.bytes", .long, "-2", ["log.local.retention.bytes"], .atLeast(-2)),
        def("local.retention.ms", .long, "-2", ["log.local.retention.ms"], .atLeast(-2)),
        def("max.compaction.lag.ms", .long, longMax, ["log.cleaner.max.compaction.lag.ms"], .atLeast(1),
            honoured: true),
        // 1 MiB plus the 12-byte log overhead (offset + size) of a batch.
        def("max.message.bytes", .int, "1048588", ["message.max.bytes"], .atLeast(0), honoured: true),
        // Not @Deprecated in 3.9, but down-conversion serves only pre-v2 consumers; 4.0 makes the key a no-op.
        def("message.downconversion.enable", .boolean, "true", ["log.message.downconversion.enable"], .any,
            deprecated: true),
        // Deprecated since 3.0 and ignored once inter.broker.protocol.version >= 3.0 (always, in KRaft); gone in 4.0.
        def("message.format.version", .string, "3.0-IV1", ["log.message.format.version"], .messageFormatVersion,
            deprecated: true),
        def("message.timestamp.after.max.ms", .long, longMax, ["log.message.timestamp.after.max.ms"], .atLeast(0)),
        def("message.timestamp.before.max.ms", .long, longMax, ["log.message.timestamp.before.max.ms"], .atLeast(0)),
        // Deprecated since 3.6 for the before/after pair (3.x still falls back to it when both are unset); gone in 4.0.
        def("message.timestamp.difference.max.ms", .long, longMax, ["log.message.timestamp.difference.max.ms"],
            .atLeast(0), deprecated: true),
        def("message.timestamp.type", .string, "CreateTime", ["log.message.timestamp.type"],
            .oneOf(["CreateTime", "LogAppendTime"]), honoured: true),
        def("min.cleanable.dirty.ratio", .double, "0.5", ["log.cleaner.min.cleanable.ratio"], .between(0, 1),
            honoured: true),
        def("min.compaction.lag.ms", .long, "0", ["log.cleaner.min.compaction.lag.ms"], .atLeast(0), honoured: true),
        def("min.insync.replicas", .int, "1", ["min.insync.replicas"], .atLeast(1), honoured: true),
        def("preallocate", .boolean, "false", ["log.preallocate"], .any),
        def("remote.log.copy.disable", .boolean, "false", [], .any),
        def("remote.log.delete.on.disable", .boolean, "false", [], .any),
        def("remote.storage.enable", .boolean, "false", [], .noTieredStorage),
        // No lower bound: any negative value means "unlimited".
        def("retention.bytes", .long, "-1", ["log.retention.bytes"], .any, honoured: true),
        def("retention.ms", .long, "604800000", ["log.retention.ms", "log.retention.minutes", "log.retention.hours"],
            .atLeast(-1), honoured: true),
        // 14 bytes is the smallest legacy (v0) record; Kafka 4.0 raises the floor to 1 MiB.
        def("segment.bytes", .int, "1073741824", ["log.segment.bytes"], .atLeast(14), honoured: true),
        def("segment.index.bytes", .int, "10485760", ["log.index.size.max.bytes"], .atLeast(4)),
        def("segment.jitter.ms", .long, "0", ["log.roll.jitter.ms", "log.roll.jitter.hours"], .atLeast(0)),
        def("segment.ms", .long, "604800000", ["log.roll.ms", "log.roll.hours"], .atLeast(1), honoured: true),
        def("unclean.leader.election.enable", .boolean, "false", ["unclean.leader.election.enable"], .any,
            honoured: true),
    ].sorted { $0.name < $1.name }

    public static let byName: [String: TopicConfigDefinition] =
        Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// Validates one key/value as Kafka does for a topic; unknown keys throw
    /// ConfigError(key: key, "unknown topic config").
    public static func validate(key: String, value: String) throws {
        guard let definition = byName[key] else { throw ConfigError(key: key, "unknown topic config") }
        try definition.validate(value)
    }

    /// The items of a list-valued key, for APPEND/SUBTRACT and for acting on a list: split on commas, trimmed,
    /// empties dropped, so "delete, compact," and "delete,compact" mean the same thing.
    public static func listItems(_ value: String) -> [String] {
        value.split(separator: ",", omittingEmptySubsequences: false)
            .map { javaTrimmed(String($0)) }
            .filter { !$0.isEmpty }
    }

    /// Kafka 3.9 resolves a version either by its exact internal name ("2.8-IV1", and even "4.0-IV1") or by a release
    /// up to the latest production one ("3.9"), reading only the first three parts of a 0.x version and the first two
    /// of any other, so "2.8.2" and "0.10.2.1" are accepted too.
    static func isKnownMessageFormatVersion(_ version: String) -> Bool {
        var parts = version.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        while parts.count > 1, parts.last == "" { parts.removeLast() }  // Java's split drops trailing empties.
        let wanted = version.hasPrefix("0.") ? 3 : 2
        let key = parts.count <= wanted ? version : parts.prefix(wanted).joined(separator: ".")
        return knownVersions.contains(key)
    }

    private static let knownVersions: Set<String> = {
        var names: Set<String> = ["0.8.0", "0.8.1", "0.8.2", "0.9.0"]
        let internals: [(String, Int)] = [  // release, number of internal versions IV0...
            ("0.10.0", 2), ("0.10.1", 3), ("0.10.2", 1), ("0.11.0", 3), ("1.0", 1), ("1.1", 1), ("2.0", 2),
            ("2.1", 3), ("2.2", 2), ("2.3", 2), ("2.4", 2), ("2.5", 1), ("2.6", 1), ("2.7", 3), ("2.8", 2),
            ("3.0", 2), ("3.1", 1), ("3.2", 1), ("3.3", 4), ("3.4", 1), ("3.5", 3), ("3.6", 3), ("3.7", 5),
            ("3.8", 1), ("3.9", 1), ("4.0", 2),
        ]
        for (release, count) in internals {
            if release != "4.0" { names.insert(release) }  // 4.0 was not yet a production release in 3.9.
            for iv in 0..<count { names.insert("\(release)-IV\(iv)") }
        }
        return names
    }()

    private static func def(_ name: String, _ kind: TopicConfigDefinition.Kind, _ defaultValue: String?,
                            _ synonyms: [String], _ rule: TopicConfigDefinition.Rule,
                            deprecated: Bool = false, honoured: Bool = false) -> TopicConfigDefinition {
        TopicConfigDefinition(name: name, kind: kind, defaultValue: defaultValue, brokerSynonyms: synonyms,
                              deprecated: deprecated, honoured: honoured, rule: rule)
    }
}

/// Java's String.trim(): every character at or below U+0020 goes, which is what ConfigDef applies before parsing.
private func javaTrimmed(_ value: String) -> String {
    let scalars = value.unicodeScalars
    guard let first = scalars.firstIndex(where: { $0.value > 0x20 }),
          let last = scalars.lastIndex(where: { $0.value > 0x20 }) else { return "" }
    return String(scalars[first...last])
}

/// Kafka's list parsing: a blank value is the empty list; otherwise commas with surrounding whitespace separate
/// items and empty items are kept, so validators see them.
private func kafkaListItems(_ trimmed: String) -> [String] {
    guard !trimmed.isEmpty else { return [] }
    let whitespace: Set<Character> = [" ", "\t", "\n", "\r", "\u{0B}", "\u{0C}"]
    return trimmed.split(separator: ",", omittingEmptySubsequences: false).map { item in
        String(item.drop { whitespace.contains($0) }.reversed().drop { whitespace.contains($0) }.reversed())
    }
}

/// Java's Double.parseDouble on a trimmed string: "NaN", "Infinity" and a trailing f/F/d/D suffix are Java forms
/// Swift does not share, while Swift's "nan", "inf" and hex without an exponent are forms Java refuses.
private func javaDouble(_ text: String) -> Double? {
    let unsigned = text.hasPrefix("+") || text.hasPrefix("-") ? String(text.dropFirst()) : text
    let negative = text.hasPrefix("-")
    if unsigned == "NaN" { return .nan }
    if unsigned == "Infinity" { return negative ? -.infinity : .infinity }
    var body = text
    if let last = body.last, "fFdD".contains(last) { body.removeLast() }
    let lowered = body.lowercased()
    let hex = lowered.hasPrefix("0x") || lowered.hasPrefix("+0x") || lowered.hasPrefix("-0x")
    if lowered.contains("n") || lowered.contains("i") || (hex && !lowered.contains("p")) { return nil }
    return Double(body)
}

/// `[0-9]+:[0-9]+`, ASCII digits only, as Kafka's throttled-replica pattern.
private func isReplicaPair(_ item: String) -> Bool {
    let halves = item.split(separator: ":", omittingEmptySubsequences: false)
    return halves.count == 2 && halves.allSatisfy { !$0.isEmpty && $0.allSatisfy { ("0"..."9").contains($0) } }
}
