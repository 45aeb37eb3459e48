import Foundation

/// An OpenMessaging Benchmark Kafka driver file: the topic settings and the Java client properties the benchmark's
/// producers and consumers run with.
public struct Driver: Sendable, Equatable {
    public var name: String
    public var replicationFactor: Int
    public var topicConfig: [Property]
    public var commonConfig: [Property]
    public var producerConfig: [Property]
    public var consumerConfig: [Property]
    public var fileBaseName = ""

    public struct Property: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) { self.key = key; self.value = value }
    }

    /// The driver used when none is named: what OMB's shipped Kafka driver files set (three replicas,
    /// `min.insync.replicas=2`, `acks=all`), which the embedded three-node cluster can serve.
    public static let defaultDriver = Driver(
        name: "Kafka", replicationFactor: 3, topicConfig: [Property("min.insync.replicas", "2")],
        commonConfig: [], producerConfig: [Property("acks", "all"), Property("linger.ms", "1"), Property("batch.size", "1048576")],
        consumerConfig: [Property("auto.offset.reset", "earliest"), Property("enable.auto.commit", "false")],
        fileBaseName: "kafka-default")

    public init(name: String, replicationFactor: Int, topicConfig: [Property], commonConfig: [Property],
                producerConfig: [Property], consumerConfig: [Property], fileBaseName: String = "") {
        self.name = name
        self.replicationFactor = replicationFactor
        self.topicConfig = topicConfig
        self.commonConfig = commonConfig
        self.producerConfig = producerConfig
        self.consumerConfig = consumerConfig
        self.fileBaseName = fileBaseName
    }

    /// The value a producer runs with for `key` (producerConfig over commonConfig), as written in the file.
    public func producerValue(_ key: String) -> String? {
        (commonConfig + producerConfig).last { $0.key == key }?.value
    }

    public var acks: String {
        switch producerValue("acks") {
        case nil: return "all"  // the Java and librdkafka defaults since Kafka 3.0 / librdkafka 1.x: all (-1)
        case "-1"?: return "all"
        case let value?: return value
        }
    }

    public var compressionType: String {
        (producerValue("compression.type") ?? producerValue("compression.codec")) ?? "none"
    }
}

extension Driver {
    public static func load(path: String) throws -> (Driver, warnings: [String]) {
        var map = try YAMLMapping.load(path: path)
        guard map.has("name") else { throw WorkloadFileError(path, "name: missing") }
        let name = try map.string("name") ?? ""
        if let driverClass = try map.string("driverClass"), !driverClass.lowercased().contains("kafka") {
            throw WorkloadFileError(path, "driverClass: \(driverClass) is not OMB's Kafka driver; Crucible benchmarks Kafka-protocol clusters only")
        }
        var driver = Driver(
            name: name,
            replicationFactor: try map.int("replicationFactor", default: 1, range: 1...100),
            topicConfig: try properties(&map, "topicConfig"),
            commonConfig: try properties(&map, "commonConfig"),
            producerConfig: try properties(&map, "producerConfig"),
            consumerConfig: try properties(&map, "consumerConfig"))
        driver.fileBaseName = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        // OMB's Kafka driver reads `reset` (delete existing benchmark topics first); Crucible's topics are new
        // per run, so there is nothing to reset.
        _ = try map.bool("reset", default: false)
        let warnings = map.unreadKeys.map { "\(path): \($0): unknown driver key, ignored (as OMB ignores it)" }
        return (driver, warnings)
    }

    static func properties(_ map: inout YAMLMapping, _ key: String) throws -> [Property] {
        guard let text = try map.string(key) else { return [] }
        return try parseProperties(text, file: map.file, key: key)
    }

    /// Java's `.properties` lines as OMB's drivers hold them: `key=value` (or `key: value`), `#`/`!` comments.
    public static func parseProperties(_ text: String, file: String, key: String) throws -> [Property] {
        var result: [Property] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") { continue }
            guard let separator = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw WorkloadFileError(file, "\(key) line \(number + 1): expected key=value, got \(line)")
            }
            let name = line[..<separator].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: separator)...].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw WorkloadFileError(file, "\(key) line \(number + 1): empty key") }
            result.append(Property(name, value))
        }
        return result
    }
}
