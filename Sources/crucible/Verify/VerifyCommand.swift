import ArgumentParser
import CrucibleMutations
import CrucibleRdKafka
import CrucibleVerifyRun
import CrucibleWorkload
import Foundation

/// `crucible verify`: Jepsen-style runs of scenarios against a local cluster started for each run.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Run verification scenarios: the queue workload through librdkafka under a nemesis, then the checker.",
        discussion: """
        Each run starts a fresh local cluster as the scenario describes, runs the workload and the nemesis, heals, \
        reads every key to its end, and checks the history. Writes per run history.jsonl (streamed), \
        analysis.json, history.html (the checker's page), nemesis.json, run.json and every node's log, and summary.json / summary.md across runs, \
        to --output (default Reports/verify-<time>). Exits 1 when any run's outcome differs from its scenario's \
        expectation.
        """)

    @Argument(help: "Scenario files (Workloads/verify/*.yaml).") var scenarios: [String] = []
    @Option(name: .long, help: "Runs of each scenario.") var runs: Int = 1
    @Option(name: .long, help: "Seed of the first run (the next runs use the following seeds); replays a run.") var seed: UInt64?
    @Option(name: .long, help: "Directory for results (default Reports/verify-<time>).") var output: String?
    @Option(name: .long, help: "Override every scenario's workload time limit, in seconds.") var timeLimit: Double?
    @Option(name: .long, help: "The local cluster's listeners, over every scenario's cluster: security: plaintext, ssl (client certificates) or sasl_ssl (SCRAM).")
    var security: ClusterSecurityMode?
    @Option(name: .long, help: "Run the nodes with this planted broker bug (a build with -DCRUCIBLE_MUTATIONS only).")
    var mutation: String?
    @OptionGroup var progressMetrics: ProgressMetricsOptions

    func run() throws {
        guard !scenarios.isEmpty else { throw UsageError("verify: name at least one scenario file (e.g. Workloads/verify/safe-kill.yaml)") }
        guard runs >= 1 else { throw UsageError("--runs \(runs): must be 1 or more") }
        if let timeLimit, !(timeLimit >= 1 && timeLimit.isFinite) { throw UsageError("--time-limit \(timeLimit): must be 1 second or more") }
        try switchOnMutation()
        let loaded = try load()
        let endpoint = try progressMetrics.start(note: { FileHandle.standardError.write(Data("\($0)\n".utf8)) })
        defer { endpoint?.close() }
        let directory = output ?? "Reports/verify-" + BenchCommand.stamp(Date())
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw UsageError("--output \(directory): \(error.localizedDescription)")
        }
        let firstSeed = seed ?? UInt64.random(in: 1...999_999)
        var outcomes: [VerifyOutcome] = []
        var failures: [String] = []
        for scenario in loaded {
            for index in 0..<runs {
                let runSeed = firstSeed &+ UInt64(index)
                let label = "[\(scenario.name) run \(index + 1)/\(runs) seed \(runSeed)]"
                let note: @Sendable (String) -> Void = { line in FileHandle.standardError.write(Data("\(label) \(line)\n".utf8)) }
                let runDirectory = "\(directory)/\(scenario.name)/run-\(index + 1)-seed-\(runSeed)"
                do {
                    let cluster = try Self.cluster(for: scenario, note: note)
                    defer { (cluster as? LocalScratchCluster)?.down() }
                    let run = try VerifyRun(scenario: scenario, seed: runSeed, cluster: cluster, directory: runDirectory,
                                            timeLimitSeconds: timeLimit, progress: note)
                    run.progressMetrics = endpoint?.metrics
                    // A stuck run must not hang its caller: with what the nodes said kept beside its history, SIGTERM
                    // takes the local cluster down with this process.
                    nonisolated(unsafe) let stuck = cluster
                    run.onStall = {
                        stuck.collectLogs(into: runDirectory + "/nodes")
                        kill(getpid(), SIGTERM)
                    }
                    var outcome = try run.run()
                    outcome.mutation = mutation
                    note("\(outcome.expectationMet ? "as expected" : "NOT as expected"): \(outcome.reason); "
                         + "\(outcome.acknowledgedSends) acknowledged sends, \(outcome.acknowledgedWritesLost) lost")
                    outcomes.append(outcome)
                    if let metrics = endpoint?.metrics { outcome.record(into: metrics) }
                } catch {
                    if let metrics = endpoint?.metrics { recordFailedRun(scenario: scenario.name, into: metrics) }
                    failures.append("\(label) \(error)")
                    note("run failed: \(error)")
                }
            }
        }
        try VerifySummary.write(outcomes, to: directory)
        print(VerifySummary.markdown(outcomes), terminator: "")
        for failure in failures { print("failed: \(failure)") }
        print("results: \(directory)")
        if !failures.isEmpty || outcomes.contains(where: { !$0.expectationMet }) { throw ExitCode(1) }
    }

    /// The scenario's own cluster when it describes one by commands, else a fresh local one.
    private static func cluster(for scenario: Scenario, note: (String) -> Void) throws -> VerifyCluster {
        if let external = scenario.external {
            note("using the scenario's cluster at \(external.bootstrapServers)")
            return CommandCluster(external)
        }
        note("starting a local cluster of \(scenario.nodes) node(s)" + (scenario.security == .plaintext ? "" : " over \(scenario.security.listenerName)"))
        return try LocalScratchCluster(nodes: scenario.nodes, overrides: scenario.serverProperties.map { "\($0.key)=\($0.value)" },
                                       purpose: "verify", networkNamespaces: scenario.nemesis.partitions,
                                       fakeClocks: scenario.nemesis.movesClocks, faultyDisks: scenario.nemesis.breaksDisks,
                                       security: scenario.security)
    }

    /// The nodes this process starts inherit its environment, where they read their mutation from.
    private func switchOnMutation() throws {
        guard let mutation else { return }
        guard Mutation(rawValue: mutation) != nil else {
            throw UsageError("--mutation \(mutation): no such mutation; one of \(Mutation.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard Mutation.compiledIn else {
            throw UsageError("--mutation \(mutation): this build has no planted bugs; make one with `\(Mutation.buildCommand)`")
        }
        setenv(Mutation.environmentKey, mutation, 1)
    }

    /// Every scenario read and its client settings checked before anything starts: a bad file, key or property
    /// exits 2 naming it.
    private func load() throws -> [Scenario] {
        var loaded: [Scenario] = []
        var refused = 0
        for file in scenarios {
            guard FileManager.default.isReadableFile(atPath: file) else { throw UsageError("\(file): no such file") }
            do {
                let (scenario, warnings) = try Scenario.load(path: file)
                // Refused with a clear line, the other scenarios still run (a user without root keeps kills and pauses).
                let unavailable = (scenario.nemesis.partitions ? NetworkLab.unavailableReason() : nil)
                    ?? (scenario.nemesis.movesClocks ? FakeClock.unavailableReason() : nil)
                    ?? (scenario.nemesis.breaksDisks ? DiskFaults.unavailableReason() : nil)
                if let reason = unavailable {
                    FileHandle.standardError.write(Data("refused: \(file): nemesis: \(reason); the other scenarios run\n".utf8))
                    refused += 1
                    continue
                }
                if security != nil && scenario.external != nil {
                    throw UsageError("--security: \(file) verifies a cluster crucible does not start, which keeps its own; give its client settings in clients: commonConfig")
                }
                if mutation != nil && scenario.external != nil {
                    throw UsageError("--mutation: \(file) verifies a cluster crucible does not start, which runs no planted bugs")
                }
                for warning in warnings + (try VerifyValidation.clientWarnings(scenario)) {
                    FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
                }
                loaded.append(scenario)
                if let security { loaded[loaded.count - 1].security = security }
            } catch let error as WorkloadFileError {
                throw UsageError(error.description)
            } catch let error as ClientConfigError {
                throw UsageError(error.description)
            }
        }
        if loaded.isEmpty && refused > 0 { throw UsageError("verify: every scenario was refused (see above)") }
        return loaded
    }
}
