import ArgumentParser
import CrucibleBench
import CrucibleRdKafka
import CrucibleWorkload
import Foundation

/// `crucible bench`: OpenMessaging Benchmark workloads on librdkafka, against a local cluster it starts (the
/// embedded default) or any Kafka-protocol cluster.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run OpenMessaging Benchmark workloads (and Crucible benchmark sets) against a Kafka-protocol cluster.",
        discussion: """
        Without --bootstrap-server, starts a local cluster of --nodes nodes, benchmarks it and tears it down. \
        Writes one OMB result JSON per workload and driver (with .hlog interval logs beside it) and summary.md / \
        summary.json to --output (default Reports/bench-<time>).
        """)

    @Argument(help: "OMB workload files, or Crucible benchmark sets (YAML with `runs:`).") var workloads: [String] = []
    @Option(name: .long, help: "OMB Kafka driver file (repeatable: each workload runs with each driver).") var driver: [String] = []
    @Option(name: .long, help: "Benchmark this cluster instead of starting one.") var bootstrapServer: String?
    @Option(name: .long, help: "A node's /metrics URL on the cluster --bootstrap-server names (repeatable, one per node; Kafka behind the Prometheus JMX exporter, or Crucible): scraped every period beside the client's figures.")
    var metricsUrl: [String] = []
    @Option(name: .long, help: "Directory for results (default Reports/bench-<time>).") var output: String?
    @Option(name: .long, help: "Override every workload's warmupDurationMinutes (fractions allowed).") var warmupMinutes: Double?
    @Option(name: .long, help: "Override every workload's testDurationMinutes (fractions allowed).") var testMinutes: Double?
    @Flag(name: .long, help: "Keep the topics created on a cluster this run did not start.") var keepTopics = false
    @Option(name: .long, help: "Nodes of the local cluster.") var nodes: Int = 3
    @Option(name: .long, help: "KEY=VALUE for the local cluster's server.properties (repeatable).") var override: [String] = []
    @Option(name: .long, help: "The local cluster's listeners: plaintext, ssl (client certificates) or sasl_ssl (SCRAM); the clients get its settings under the driver's commonConfig.")
    var security: ClusterSecurityMode = .plaintext
    @Flag(name: .long, help: "Skip measuring this machine's limits (iperf3, disk, page cache).") var skipCalibration = false
    @Option(name: .long, help: "Statistics period in seconds (OMB's is 10).") var periodSeconds: Double = 10
    @OptionGroup var progressMetrics: ProgressMetricsOptions

    func run() throws {
        guard !workloads.isEmpty else { throw UsageError("bench: name at least one workload file (e.g. Workloads/default.yaml)") }
        for (flag, value) in [("--warmup-minutes", warmupMinutes), ("--test-minutes", testMinutes)] {
            if let value, !(value >= 0 && value.isFinite) { throw UsageError("\(flag) \(value): must be a number of minutes, 0 or more") }
        }
        guard periodSeconds > 0 && periodSeconds.isFinite else { throw UsageError("--period-seconds \(periodSeconds): must be positive") }
        guard (1...9).contains(nodes) else { throw UsageError("--nodes \(nodes): must be 1 to 9") }
        for entry in override where !entry.contains("=") { throw UsageError("--override \(entry): expected KEY=VALUE") }
        if !metricsUrl.isEmpty && bootstrapServer == nil {
            throw UsageError("--metrics-url: the cluster bench starts is scraped already; give it with --bootstrap-server")
        }
        for url in metricsUrl where !(url.hasPrefix("http://") && URL(string: url)?.host != nil) {
            throw UsageError("--metrics-url \(url): expected http://host:port/metrics")
        }
        if security != .plaintext && bootstrapServer != nil {
            throw UsageError("--security: a cluster this run does not start keeps its own; give its client settings in the driver's commonConfig")
        }
        try progressMetrics.check()
        var runs = try loadPlan()

        let directory = output ?? "Reports/bench-" + Self.stamp(Date())
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw UsageError("--output \(directory): \(error.localizedDescription)")
        }
        var options = BenchOptions(outputDirectory: directory)
        options.warmupMinutes = warmupMinutes
        options.testMinutes = testMinutes
        options.keepTopics = keepTopics && bootstrapServer != nil
        options.periodSeconds = periodSeconds
        let progress = BenchProgress(queuedSeconds: runs.map { BenchRun.expectedSeconds($0.workload, options) }.reduce(0, +))
        let endpoint = try progressMetrics.start(note: progress.note)
        defer { endpoint?.close() }
        progress.metrics = endpoint?.metrics

        let local: LocalScratchCluster?
        let cluster: BenchCluster
        if let bootstrapServer {
            local = nil
            cluster = RemoteCluster(bootstrapServers: bootstrapServer, metricsURLs: metricsUrl)
        } else {
            progress.note("starting a local cluster of \(nodes) node(s)")
            local = try LocalScratchCluster(nodes: nodes, overrides: override, security: security)
            cluster = local!
            // The cluster's client settings first: a driver's own commonConfig keys win over them.
            for index in runs.indices { runs[index].driver.commonConfig = local!.clientProperties + runs[index].driver.commonConfig }
        }
        defer { local?.down() }
        let calibration = skipCalibration ? nil
            : Calibration.measure(directory: cluster.dataDirectory ?? FileManager.default.temporaryDirectory.path,
                                  progress: { progress.note("calibration: \($0)") })

        var outcomes: [RunOutcome] = []
        var failures: [String] = []
        for planned in runs {
            do {
                let run = BenchRun(workload: planned.workload, driver: planned.driver, workloadFile: planned.workloadFile,
                                   driverFile: planned.driverFile, cluster: cluster, options: options,
                                   progress: progress, calibration: calibration, warnings: planned.warnings)
                outcomes.append(try run.run())
            } catch {
                failures.append("\(planned.workloadFile) with \(planned.driverFile ?? "the default driver"): \(error)")
                progress.note("run failed: \(failures.last!)")
            }
        }
        let failed = !failures.isEmpty || outcomes.contains(where: { $0.summary.failedSends > 0 })
        if failed, let local {
            // What the brokers said is the first thing to read about a failed run; the scratch directory goes.
            local.collectLogs(into: directory + "/nodes")
            progress.note("the nodes' logs are in \(directory)/nodes")
        }
        let summary = try BenchSummary(outcomes: outcomes.map(\.summary), failures: failures, calibration: calibration,
                                       embedded: local != nil)
        try summary.write(directory: directory)
        print(summary.markdown)
        print("results: \(directory)")
        if failed { throw ExitCode(1) }
    }

    struct PlannedRun {
        var workloadFile: String
        var driverFile: String?
        var workload: Workload
        var driver: Driver
        var warnings: [String]
    }

    /// Every file read and checked before anything starts: a bad file, key or client property exits 2 naming it.
    private func loadPlan() throws -> [PlannedRun] {
        for file in workloads + driver where !FileManager.default.isReadableFile(atPath: file) {
            throw UsageError("\(file): no such file")
        }
        do {
            let plan = try BenchPlan.make(files: workloads, drivers: driver)
            var loadedWorkloads: [String: (Workload, [String])] = [:]
            var loadedDrivers: [String: (Driver, [String])] = [:]
            var runs: [PlannedRun] = []
            for entry in plan.entries {
                if loadedWorkloads[entry.workloadFile] == nil { loadedWorkloads[entry.workloadFile] = try Workload.load(path: entry.workloadFile) }
                let key = entry.driverFile ?? ""
                if loadedDrivers[key] == nil {
                    if let file = entry.driverFile {
                        let (loaded, warnings) = try Driver.load(path: file)
                        loadedDrivers[key] = (loaded, warnings + (try BenchValidation.clientWarnings(loaded, file: file)))
                    } else {
                        loadedDrivers[key] = (Driver.defaultDriver, [])
                    }
                }
                let (workload, workloadWarnings) = loadedWorkloads[entry.workloadFile]!
                let (driver, driverWarnings) = loadedDrivers[key]!
                if workload.crucible.killLeaderEverySeconds > 0 && bootstrapServer != nil {
                    throw UsageError("\(entry.workloadFile): crucible.killLeaderEverySeconds needs the local cluster (no --bootstrap-server)")
                }
                runs.append(PlannedRun(workloadFile: entry.workloadFile, driverFile: entry.driverFile, workload: workload,
                                       driver: driver, warnings: workloadWarnings + driverWarnings))
            }
            for warning in Set(runs.flatMap(\.warnings)).sorted() { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
            return runs
        } catch let error as WorkloadFileError {
            throw UsageError(error.description)
        } catch let error as ClientConfigError {
            throw UsageError(error.description)
        }
    }

    static func stamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: date)
    }
}
