import CrucibleMetrics
import CrucibleRdKafka
import CrucibleWorkload
import Foundation
import Histogram

/// Crucible's additions to OMB's result, under its `crucible` key: byte rates, the producer's settings that decide
/// latency and size, the compression ratio, latency from intended send times, the search, backlog and failover
/// figures, CPU and memory, errors by code, this machine's limits and the run's throughput as ratios of them.
struct RunExtras: Codable {
    var workloadFile: String
    var driverFile: String
    var acks: String
    var compressionType: String
    var replicationFactor: Int
    var messageSize: Int
    /// `file` or `randomized(<randomBytesRatio>)`.
    var payload: String
    var targetRate: Double
    var maxSustainableRate: Double?
    var rateSearch: RateSearch.Trace?
    var testSeconds: Double
    var publishRate: Double
    var consumeRate: Double
    var publishMBps: Double
    var consumeMBps: Double
    /// Key, value and header bytes of every message acknowledged (probes, search, warm-up and the final flush
    /// included) over bytes stored in the topics' logs (one replica per partition, via DescribeLogDirs): how
    /// much the codec saved, batch overhead included.
    var bytesHanded: Int
    var bytesStored: Int64?
    var compressionRatio: Double?
    /// From the intended send time (open loop), in ms: what a producer with a fixed schedule waited.
    var publishLatencyFromIntendedMs: Figures
    var endToEndLatencyFromIntendedMs: Figures
    var backlog: BacklogPhase.Figures?
    var failovers: [FailoverPhase.Figures]
    var usage: SystemUsage.Summary?
    /// The brokers' own series (their `/metrics`, scraped every period of the test), when the cluster has them.
    var brokerMetrics: BrokerSeries?
    var sendsFailed: Int
    /// Messages the final flush left unanswered, dropped when the producers stopped: a cluster slower than the
    /// offered load, not a refusal (that is `sendsFailed`).
    var sendsAbandoned: Int
    /// Every failed send by librdkafka's error name, the final flush included; `errorsByCode` is the measured window's.
    var sendsFailedByCode: [String: Int]
    var errorsByCode: [String: Int]
    var calibration: Calibration?
    /// This run's throughput over the calibrated limits.
    var ratios: [String: Double]
    var versions: [String: String]
    var machine: MachineInfo
    var warnings: [String]

    struct Figures: Codable {
        var avg, p50, p75, p95, p99, p999, p9999, max: Double
        init(_ histogram: Histogram<UInt64>) {
            let s = LatencySummary(histogram, divisor: 1_000)
            (avg, p50, p75, p95, p99, p999, p9999, max) = (s.avg, s.p50, s.p75, s.p95, s.p99, s.p999, s.p9999, s.max)
        }
    }

    init(run: BenchRun, rate: Double, search: RateSearchPhase.Outcome?, backlog: BacklogPhase.Figures?,
         failovers: [FailoverPhase.Figures], totals: Totals, storedBytes: Int64?, usage: SystemUsage.Summary?,
         measurement: Measurement, testSeconds: Double, brokerMetrics: BrokerSeries? = nil) {
        self.brokerMetrics = brokerMetrics
        let workload = run.workload, driver = run.driver
        workloadFile = run.workloadFile
        driverFile = run.driverFile ?? "(default driver)"
        acks = driver.acks
        compressionType = driver.compressionType
        replicationFactor = driver.replicationFactor
        messageSize = workload.messageSize
        payload = workload.useRandomizedPayloads ? "randomized(\(workload.randomBytesRatio))" : "file"
        targetRate = rate
        maxSustainableRate = search?.rate
        rateSearch = search?.trace
        self.testSeconds = testSeconds
        let seconds = max(measurement.periods.map(\.seconds).reduce(0, +), 0.001)
        publishRate = Double(measurement.aggregate.acknowledged) / seconds
        consumeRate = Double(measurement.aggregateConsumed.received) / seconds
        publishMBps = Double(measurement.aggregate.acknowledgedBytes) / seconds / 1_048_576
        consumeMBps = Double(measurement.aggregateConsumed.receivedBytes) / seconds / 1_048_576
        bytesHanded = totals.handedBytes
        bytesStored = storedBytes
        compressionRatio = storedBytes.flatMap { $0 > 0 ? Double(totals.handedBytes) / Double($0) : nil }
        publishLatencyFromIntendedMs = Figures(measurement.aggregate.publishIntended)
        endToEndLatencyFromIntendedMs = Figures(measurement.aggregateConsumed.endToEndIntended)
        self.backlog = backlog
        self.failovers = failovers
        self.usage = usage
        sendsFailed = totals.failed
        sendsAbandoned = totals.abandoned
        sendsFailedByCode = totals.failedByCode
        errorsByCode = measurement.errorsByCode
        calibration = run.calibration
        var ratios: [String: Double] = [:]
        let bytesPerSecond = publishMBps * 1_048_576
        if let limit = run.calibration?.loopbackBytesPerSecond, limit > 0 { ratios["publishToLoopback"] = bytesPerSecond / limit }
        if let limit = run.calibration?.pageCacheFreshBytesPerSecond, limit > 0 { ratios["publishToFreshPageCache"] = bytesPerSecond / limit }
        if let limit = run.calibration?.diskFdatasyncBytesPerSecond, limit > 0 { ratios["publishToFdatasyncDisk"] = bytesPerSecond / limit }
        self.ratios = ratios
        versions = ["crucible": CrucibleVersion.string, "librdkafka": RdKafkaConfig.version]
        machine = MachineInfo.current()
        warnings = run.warnings
    }

    var json: [String: JSONValue]? {
        guard let data = try? JSONEncoder().encode(self),
              case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: data) else { return nil }
        return object
    }
}

public enum CrucibleVersion {
    public static let string = "0.10.0"
}
