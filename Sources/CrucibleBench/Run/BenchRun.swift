import CrucibleMetrics
import CrucibleWorkload
import Foundation
import Histogram

public struct BenchOptions: Sendable {
    public var warmupMinutes: Double?
    public var testMinutes: Double?
    /// Keep the benchmark's topics on the cluster afterwards.
    public var keepTopics = false
    public var outputDirectory: String
    /// OMB's statistics period.
    public var periodSeconds = 10.0
    public var probeTimeoutSeconds = 60.0

    public init(outputDirectory: String) { self.outputDirectory = outputDirectory }
}

/// One workload with one driver, in OMB's order: topics, consumers, producers, probes until every subscription
/// receives; the maximum-rate search when `producerRate` is 0; warm-up; statistics reset; the test (with the
/// backlog built and drained, and leaders killed, when the workload asks); then the result written.
public final class BenchRun {
    let workload: Workload
    let driver: Driver
    let workloadFile: String
    let driverFile: String?
    let cluster: BenchCluster
    let options: BenchOptions
    let progress: BenchProgress
    let calibration: Calibration?
    let label: String
    var warnings: [String]

    public init(workload: Workload, driver: Driver, workloadFile: String, driverFile: String?, cluster: BenchCluster,
                options: BenchOptions, progress: BenchProgress, calibration: Calibration?, warnings: [String]) {
        self.workload = workload
        self.driver = driver
        self.workloadFile = workloadFile
        self.driverFile = driverFile
        self.cluster = cluster
        self.options = options
        self.progress = progress
        self.calibration = calibration
        self.warnings = warnings
        label = "\(workload.fileBaseName) / \(driver.fileBaseName.isEmpty ? driver.name : driver.fileBaseName)"
    }

    var warmupSeconds: Double { (options.warmupMinutes ?? workload.warmupDurationMinutes) * 60 }
    var testSeconds: Double { (options.testMinutes ?? workload.testDurationMinutes) * 60 }

    /// What the run is expected to take, for the ETA: set-up, the search, warm-up and test.
    public static func expectedSeconds(_ workload: Workload, _ options: BenchOptions) -> Double {
        let warmup = (options.warmupMinutes ?? workload.warmupDurationMinutes) * 60
        let test = (options.testMinutes ?? workload.testDurationMinutes) * 60
        return 8 + (workload.findsMaxRate ? RateSearchPhase.expectedSeconds : 0) + warmup + max(test, 1)
    }

    public func run() throws -> RunOutcome {
        progress.beginRun(expectedSeconds: Self.expectedSeconds(workload, options))
        let started = Date()
        let runId = "crucible-bench-" + String(UInt64(started.timeIntervalSince1970 * 1_000), radix: 36)
        let bootstrap = cluster.bootstrapServers
        let topics = try BenchTopics.create(prefix: runId, count: workload.topics, partitions: workload.partitionsPerTopic,
                                            replicationFactor: driver.replicationFactor,
                                            configs: driver.topicConfig.map { ($0.key, $0.value) }, bootstrap: bootstrap,
                                            security: try driver.clientSecurity(), wholeCluster: cluster.brokerCount) { warning in
            progress.note("[\(label)] \(warning)")
            warnings.append(warning)
        }
        progress.note("[\(label)] created \(workload.topics) topic(s) of \(workload.partitionsPerTopic) partition(s), replication factor \(driver.replicationFactor)")
        defer {
            if !options.keepTopics {
                for problem in topics.delete(bootstrap: bootstrap) { progress.note("[\(label)] \(problem)") }
            }
        }
        let fleet = try Fleet(workload: workload, driver: driver, topics: topics.names, bootstrap: bootstrap, runId: runId,
                              warnings: &warnings)
        var stopped = false
        defer { if !stopped { fleet.stop(flushSeconds: 5) } }
        try fleet.probe(timeout: options.probeTimeoutSeconds)
        progress.note("[\(label)] every subscription receives; \(fleet.producers.count) producer(s), \(fleet.consumers.count) consumer(s)")

        var search: RateSearchPhase.Outcome?
        var rate = workload.producerRate
        if workload.findsMaxRate {
            let found = try RateSearchPhase(fleet: fleet, progress: progress, label: label).run()
            search = found
            rate = found.rate * workload.crucible.rateFraction
            progress.note("[\(label)] maximum sustainable rate \(Int(found.rate)) msg/s; measuring at \(Int(rate)) msg/s")
        }
        fleet.setRate(rate)
        let measurement = Measurement(fleet: fleet, progress: progress, label: label, periodSeconds: options.periodSeconds,
                                      workload: workload, driver: driver)
        measurement.run(phase: "warm-up", seconds: warmupSeconds, record: false)
        _ = fleet.collect()  // OMB resets the statistics after warm-up

        let usageBefore = SystemUsage.sample(brokers: cluster.brokerProcesses)
        let backlog = workload.consumerBacklogSizeGB > 0
            ? BacklogPhase(fleet: fleet, workload: workload, testSeconds: testSeconds, dataDirectory: cluster.dataDirectory) : nil
        let failovers = workload.crucible.killLeaderEverySeconds > 0
            ? FailoverPhase(fleet: fleet, cluster: cluster, topics: topics, every: workload.crucible.killLeaderEverySeconds,
                            testSeconds: testSeconds, progress: progress, label: label) : nil
        backlog?.start()
        failovers?.start()
        let testStart = Date()
        let brokers = cluster.metricsURLs.isEmpty ? nil : BrokerScraper(urls: cluster.metricsURLs, periodSeconds: options.periodSeconds)
        measurement.run(phase: "test", seconds: testSeconds, record: true) { backlog?.finished ?? true }
        let testElapsed = Date().timeIntervalSince(testStart)
        let brokerSeries = brokers?.finish()
        let backlogFigures = backlog?.finish()
        let failoverFigures = failovers?.finish() ?? []
        let usage = SystemUsage.sample(brokers: cluster.brokerProcesses).since(usageBefore, seconds: testElapsed)

        fleet.setRate(0)
        fleet.stop(flushSeconds: 10)
        stopped = true
        for producer in fleet.producers {
            guard let fatal = producer.fatalError else { continue }
            let warning = "librdkafka producer \(producer.id) raised a fatal error, failing every later send: \(fatal)"
            progress.note("[\(label)] \(warning)")
            warnings.append(warning)
        }
        // After the flush: the stored bytes below include what it delivered, so the bytes handed must too.
        let totals = fleet.totals
        let stored = try? topics.storedBytes(bootstrap: bootstrap)

        var result = measurement.result()
        let extras = RunExtras(run: self, rate: rate, search: search, backlog: backlogFigures, failovers: failoverFigures,
                               totals: totals, storedBytes: stored, usage: usage, measurement: measurement,
                               testSeconds: testElapsed, brokerMetrics: brokerSeries)
        result.crucible = extras.json
        let path = try ResultFiles.write(result: result, measurement: measurement, workloadFile: workloadFile,
                                         driverName: driver.name, directory: options.outputDirectory, date: started)
        progress.note("[\(label)] result: \(path)")
        return RunOutcome(resultPath: path, summary: RunSummary(result: result, extras: extras, resultFile: path))
    }
}

public struct RunOutcome: Sendable {
    public let resultPath: String
    public let summary: RunSummary
}
