import Foundation

/// How producers pick record keys, as OMB's `keyDistributor` names them.
public enum KeyDistributorKind: String, Codable, Sendable, CaseIterable {
    case noKey = "NO_KEY"
    case keyRoundRobin = "KEY_ROUND_ROBIN"
    case randomNano = "RANDOM_NANO"
}

/// An OpenMessaging Benchmark workload file, every key with OMB's meaning and default, plus Crucible's own
/// additions under one `crucible:` mapping (which OMB ignores, as it ignores every key it does not know).
public struct Workload: Sendable, Equatable {
    public var name: String
    public var topics: Int
    public var partitionsPerTopic: Int
    public var keyDistributor: KeyDistributorKind = .noKey
    public var messageSize: Int
    public var useRandomizedPayloads = false
    public var randomBytesRatio = 0.0
    public var randomizedPayloadPoolSize = 0
    /// Resolved to a readable path when the file was loaded.
    public var payloadFile: String?
    public var subscriptionsPerTopic: Int
    public var consumerPerSubscription: Int
    public var producersPerTopic: Int
    /// msg/s for the whole test, shared by every producer; 0 = find the maximum sustainable rate.
    public var producerRate: Double
    public var consumerBacklogSizeGB: Double = 0
    public var backlogDrainRatio = 1.0
    public var testDurationMinutes: Double
    public var warmupDurationMinutes: Double = 1
    public var crucible = Extensions()

    /// Crucible's additions, all optional.
    public struct Extensions: Sendable, Equatable {
        /// With `producerRate: 0`: measure at this fraction of the maximum rate found (0.5 = half the max rate).
        public var rateFraction = 1.0
        /// SIGKILL the leader of the first topic's partition 0 this often during the test (local cluster only),
        /// restart it once the gap is measured; 0 = never.
        public var killLeaderEverySeconds = 0.0
        public init() {}
    }

    /// The file's base name without `.yaml`, which OMB's result file names begin with.
    public var fileBaseName = ""

    public var totalProducers: Int { topics * producersPerTopic }
    public var totalConsumers: Int { topics * subscriptionsPerTopic * consumerPerSubscription }
    public var findsMaxRate: Bool { producerRate == 0 }
}

extension Workload {
    /// Reads a workload file. `payloadFile` is relative to OMB's root: tried against the current directory, the
    /// parent of the workload file's directory (OMB's layout: `workloads/` beside `payload/`), and the file's own
    /// directory. Keys nobody reads come back as warnings.
    public static func load(path: String) throws -> (Workload, warnings: [String]) {
        var map = try YAMLMapping.load(path: path)
        let file = path
        for key in ["topics", "partitionsPerTopic", "messageSize", "subscriptionsPerTopic", "producersPerTopic",
                    "producerRate", "testDurationMinutes"] where !map.has(key) {
            throw WorkloadFileError(file, "\(key): missing (OMB has no default for it)")
        }
        let name = try map.string("name") ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        var workload = Workload(
            name: name,
            topics: try map.int("topics", default: 1, range: 1...10_000),
            partitionsPerTopic: try map.int("partitionsPerTopic", default: 1, range: 1...100_000),
            messageSize: try map.int("messageSize", default: 1024, range: 1...100_000_000),
            subscriptionsPerTopic: try map.int("subscriptionsPerTopic", default: 1, range: 0...1_000),
            consumerPerSubscription: try map.int("consumerPerSubscription", default: 1, range: 0...10_000),
            producersPerTopic: try map.int("producersPerTopic", default: 1, range: 0...10_000),
            producerRate: try map.double("producerRate", default: 0, range: 0...1e12),
            testDurationMinutes: try map.double("testDurationMinutes", default: 0, range: 0...100_000))
        workload.fileBaseName = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        if let key = try map.string("keyDistributor") {
            guard let kind = KeyDistributorKind(rawValue: key) else {
                throw WorkloadFileError(file, "keyDistributor: \(key) is not one of \(KeyDistributorKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            workload.keyDistributor = kind
        }
        workload.useRandomizedPayloads = try map.bool("useRandomizedPayloads", default: false)
        workload.randomBytesRatio = try map.double("randomBytesRatio", default: 0, range: 0...1)
        workload.randomizedPayloadPoolSize = try map.int("randomizedPayloadPoolSize", default: 0, range: 0...1_000_000)
        workload.consumerBacklogSizeGB = try map.double("consumerBacklogSizeGB", default: 0, range: 0...1e6)
        workload.backlogDrainRatio = try map.double("backlogDrainRatio", default: 1, range: 0.000_001...1e6)
        workload.warmupDurationMinutes = try map.double("warmupDurationMinutes", default: 1, range: 0...100_000)
        if let payload = try map.string("payloadFile"), !workload.useRandomizedPayloads {
            workload.payloadFile = try resolvePayload(payload, workloadPath: path, messageSize: workload.messageSize)
        } else if !workload.useRandomizedPayloads {
            throw WorkloadFileError(file, "payloadFile: missing (and useRandomizedPayloads is false)")
        }
        if workload.consumerBacklogSizeGB > 0 && workload.producerRate == 0 {
            throw WorkloadFileError(file, "consumerBacklogSizeGB: a backlog needs a fixed producerRate (OMB refuses it with producerRate 0)")
        }
        if workload.totalProducers == 0 { throw WorkloadFileError(file, "producersPerTopic: must be at least 1") }
        if var extensions = try map.mapping("crucible") {
            workload.crucible.rateFraction = try extensions.double("rateFraction", default: 1, range: 0.01...1)
            workload.crucible.killLeaderEverySeconds = try extensions.double("killLeaderEverySeconds", default: 0, range: 0...86_400)
            if let unknown = extensions.unreadKeys.first { throw WorkloadFileError(file, "crucible.\(unknown): not a Crucible workload key") }
        }
        let warnings = map.unreadKeys.map { "\(file): \($0): unknown workload key, ignored (as OMB ignores it)" }
        return (workload, warnings)
    }

    static func resolvePayload(_ relative: String, workloadPath: String, messageSize: Int) throws -> String {
        let workloadDir = URL(fileURLWithPath: workloadPath).deletingLastPathComponent()
        let candidates = relative.hasPrefix("/") ? [relative] : [
            relative,
            workloadDir.deletingLastPathComponent().appendingPathComponent(relative).path,
            workloadDir.appendingPathComponent(relative).path,
        ]
        guard let found = candidates.first(where: { FileManager.default.isReadableFile(atPath: $0) }) else {
            throw WorkloadFileError(workloadPath, "payloadFile: \(relative) not found (looked in \(candidates.joined(separator: ", ")))")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: found)[.size] as? Int) ?? -1
        guard size == messageSize else {
            throw WorkloadFileError(workloadPath, "payloadFile: \(found) holds \(size) bytes but messageSize is \(messageSize)")
        }
        return found
    }
}
