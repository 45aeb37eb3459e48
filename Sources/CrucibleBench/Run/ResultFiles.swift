import CrucibleWorkload
import Foundation

/// A run's files: OMB's result JSON under OMB's name, and beside it the HdrHistogram interval logs (publish
/// latencies from the actual and the intended send, publish delay; end-to-end from both) named after it.
enum ResultFiles {
    static func write(result: TestResult, measurement: Measurement, workloadFile: String, driverName: String,
                      directory: String, date: Date) throws -> String {
        var name = TestResult.fileName(workloadFile: workloadFile, driverName: driverName, date: date)
        var suffix = 2
        while FileManager.default.fileExists(atPath: directory + "/" + name) {
            name = TestResult.fileName(workloadFile: workloadFile, driverName: "\(driverName)-\(suffix)", date: date)
            suffix += 1
        }
        let path = directory + "/" + name
        try result.encoded().write(to: URL(fileURLWithPath: path))
        let base = String(path.dropLast(".json".count))
        try measurement.publishLog.text.write(toFile: base + "-publish.hlog", atomically: true, encoding: .utf8)
        try measurement.endToEndLog.text.write(toFile: base + "-end-to-end.hlog", atomically: true, encoding: .utf8)
        return path
    }
}

/// One run's line in the invocation's summary tables.
public struct RunSummary: Codable, Sendable {
    public var workload: String
    public var driver: String
    public var resultFile: String
    public var acks: String
    public var compressionType: String
    public var replicationFactor: Int
    public var messageSize: Int
    public var payload: String
    public var targetRate: Double
    public var maxSustainableRate: Double?
    public var publishRate: Double
    public var publishMBps: Double
    /// ms: publish from the actual send (OMB's), from the intended send, end-to-end (OMB's).
    public var publish: Latency
    public var publishFromIntended: Latency
    public var endToEnd: Latency
    public var compressionRatio: Double?
    public var failoverGapsMs: [Double?]
    public var failoverSpikesMs: [Double]
    /// Per kill: whether the node killed was also the active controller (nil: not known).
    public var failoverKilledController: [Bool?]
    public var failedSends: Int
    public var failedSendsByCode: [String: Int]
    public var abandonedSends: Int
    public var ratios: [String: Double]

    public struct Latency: Codable, Sendable {
        public var p50, p99, p999, max: Double
    }

    init(result: TestResult, extras: RunExtras, resultFile: String) {
        workload = result.workload
        driver = URL(fileURLWithPath: extras.driverFile).deletingPathExtension().lastPathComponent
        self.resultFile = URL(fileURLWithPath: resultFile).lastPathComponent
        acks = extras.acks
        compressionType = extras.compressionType
        replicationFactor = extras.replicationFactor
        messageSize = extras.messageSize
        payload = extras.payload
        targetRate = extras.targetRate
        maxSustainableRate = extras.maxSustainableRate
        publishRate = extras.publishRate
        publishMBps = extras.publishMBps
        publish = Latency(p50: result.aggregatedPublishLatency50pct, p99: result.aggregatedPublishLatency99pct,
                          p999: result.aggregatedPublishLatency999pct, max: result.aggregatedPublishLatencyMax)
        let intended = extras.publishLatencyFromIntendedMs
        publishFromIntended = Latency(p50: intended.p50, p99: intended.p99, p999: intended.p999, max: intended.max)
        endToEnd = Latency(p50: result.aggregatedEndToEndLatency50pct, p99: result.aggregatedEndToEndLatency99pct,
                           p999: result.aggregatedEndToEndLatency999pct, max: result.aggregatedEndToEndLatencyMax)
        compressionRatio = extras.compressionRatio
        failoverGapsMs = extras.failovers.map(\.gapMs)
        failoverSpikesMs = extras.failovers.map(\.spikeMaxMs)
        failoverKilledController = extras.failovers.map(\.wasController)
        failedSends = extras.sendsFailed
        failedSendsByCode = extras.sendsFailedByCode
        abandonedSends = extras.sendsAbandoned
        ratios = extras.ratios
    }
}
