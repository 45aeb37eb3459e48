import Foundation

/// OpenMessaging Benchmark's result file (`io.openmessaging.benchmark.TestResult`), field for field with OMB's
/// names and units, so OMB's `bin/create_charts.py` and anyone's scripts for OMB results read Crucible's.
///
/// Units as OMB writes them: publish and end-to-end latencies in milliseconds (doubles); publish delay in
/// microseconds (the average a double, the rest integers). Series hold one entry per measured period (10 s in OMB).
/// Quantile maps are keyed by the percentile as Java's `Double.toString` writes it ("50.0", "99.21875").
public struct TestResult: Codable, Equatable, Sendable {
    public var workload: String
    public var driver: String
    public var messageSize: Int
    public var topics: Int
    public var partitions: Int
    public var producersPerTopic: Int
    public var consumersPerTopic: Int

    public var publishRate: [Double] = []
    public var publishErrorRate: [Double] = []
    public var consumeRate: [Double] = []
    public var backlog: [Int] = []

    public var publishLatencyAvg: [Double] = []
    public var publishLatency50pct: [Double] = []
    public var publishLatency75pct: [Double] = []
    public var publishLatency95pct: [Double] = []
    public var publishLatency99pct: [Double] = []
    public var publishLatency999pct: [Double] = []
    public var publishLatency9999pct: [Double] = []
    public var publishLatencyMax: [Double] = []

    public var publishDelayLatencyAvg: [Double] = []
    public var publishDelayLatency50pct: [Int] = []
    public var publishDelayLatency75pct: [Int] = []
    public var publishDelayLatency95pct: [Int] = []
    public var publishDelayLatency99pct: [Int] = []
    public var publishDelayLatency999pct: [Int] = []
    public var publishDelayLatency9999pct: [Int] = []
    public var publishDelayLatencyMax: [Int] = []

    public var aggregatedPublishLatencyAvg = 0.0
    public var aggregatedPublishLatency50pct = 0.0
    public var aggregatedPublishLatency75pct = 0.0
    public var aggregatedPublishLatency95pct = 0.0
    public var aggregatedPublishLatency99pct = 0.0
    public var aggregatedPublishLatency999pct = 0.0
    public var aggregatedPublishLatency9999pct = 0.0
    public var aggregatedPublishLatencyMax = 0.0

    public var aggregatedPublishDelayLatencyAvg = 0.0
    public var aggregatedPublishDelayLatency50pct = 0
    public var aggregatedPublishDelayLatency75pct = 0
    public var aggregatedPublishDelayLatency95pct = 0
    public var aggregatedPublishDelayLatency99pct = 0
    public var aggregatedPublishDelayLatency999pct = 0
    public var aggregatedPublishDelayLatency9999pct = 0
    public var aggregatedPublishDelayLatencyMax = 0

    public var aggregatedPublishLatencyQuantiles: [String: Double] = [:]
    /// Integers, as OMB's is a `Map<Double, Long>` of microseconds.
    public var aggregatedPublishDelayLatencyQuantiles: [String: Int] = [:]

    public var endToEndLatencyAvg: [Double] = []
    public var endToEndLatency50pct: [Double] = []
    public var endToEndLatency75pct: [Double] = []
    public var endToEndLatency95pct: [Double] = []
    public var endToEndLatency99pct: [Double] = []
    public var endToEndLatency999pct: [Double] = []
    public var endToEndLatency9999pct: [Double] = []
    public var endToEndLatencyMax: [Double] = []

    public var aggregatedEndToEndLatencyQuantiles: [String: Double] = [:]

    public var aggregatedEndToEndLatencyAvg = 0.0
    public var aggregatedEndToEndLatency50pct = 0.0
    public var aggregatedEndToEndLatency75pct = 0.0
    public var aggregatedEndToEndLatency95pct = 0.0
    public var aggregatedEndToEndLatency99pct = 0.0
    public var aggregatedEndToEndLatency999pct = 0.0
    public var aggregatedEndToEndLatency9999pct = 0.0
    public var aggregatedEndToEndLatencyMax = 0.0

    /// Crucible's own figures for the run (not in OMB's format; OMB's readers ignore unknown keys). Omitted when nil.
    public var crucible: [String: JSONValue]?

    public init(workload: String, driver: String, messageSize: Int, topics: Int, partitions: Int,
                producersPerTopic: Int, consumersPerTopic: Int) {
        self.workload = workload
        self.driver = driver
        self.messageSize = messageSize
        self.topics = topics
        self.partitions = partitions
        self.producersPerTopic = producersPerTopic
        self.consumersPerTopic = consumersPerTopic
    }

    /// Pretty-printed like OMB's (Jackson's default pretty printer); keys sorted so files diff cleanly.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> TestResult {
        try JSONDecoder().decode(TestResult.self, from: data)
    }

    /// OMB's result file name: `<workload file name without its extension>-<driver name>-yyyy-MM-dd-HH-mm-ss.json`,
    /// in local time as OMB's `SimpleDateFormat` writes it.
    public static func fileName(workloadFile: String, driverName: String, date: Date,
                                timeZone: TimeZone = .current) -> String {
        let file = URL(fileURLWithPath: workloadFile).lastPathComponent
        let base = file.lastIndex(of: ".").map { String(file[..<$0]) } ?? file
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = "yyyy-MM-dd-HH-mm-ss"
        return "\(base)-\(driverName)-\(formatter.string(from: date)).json"
    }
}

/// Any JSON value, for the free-form `crucible` section. Numbers are doubles (exact up to 2^53).
public enum JSONValue: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(value): try container.encode(value)
        case let .number(value): try container.encode(value)
        case let .string(value): try container.encode(value)
        case let .array(value): try container.encode(value)
        case let .object(value): try container.encode(value)
        }
    }
}
