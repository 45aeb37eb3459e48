import CrucibleClient
import CrucibleMetrics
import CrucibleProtocol
import CrucibleSecurity
import CrucibleVerify
import CrucibleWorkload
import Foundation

/// One run of a scenario: create the topic, run the workers and the nemesis side by side until the time limit,
/// heal, read every key to its end, check the history and judge the outcome against the scenario's expectation.
/// Everything the run did lands in its directory: `history.jsonl` (streamed), `analysis.json`, `nemesis.json`,
/// `run.json` and the nodes' logs.
public final class VerifyRun: @unchecked Sendable {
    let scenario: Scenario
    let seed: UInt64
    let cluster: VerifyCluster
    let directory: String
    let timeLimitSeconds: Double
    let progress: @Sendable (String) -> Void
    /// The run's own admin connections' TLS and SASL settings.
    let security: ClientSecurity
    /// Called once when the run is stuck past every bound of its phases (see `RunWatchdog`).
    public var onStall: @Sendable () -> Void = {}
    /// The invocation's own `/metrics`, when it serves one: the workload's operations so far.
    public var progressMetrics: MetricsRegistry?

    public init(scenario: Scenario, seed: UInt64, cluster: VerifyCluster, directory: String, timeLimitSeconds: Double? = nil,
                progress: @escaping @Sendable (String) -> Void) throws {
        var scenario = scenario
        scenario.commonConfig = cluster.clientProperties + scenario.commonConfig
        self.scenario = scenario
        security = try scenario.clientSecurity()
        self.seed = seed
        self.cluster = cluster
        self.directory = directory
        self.timeLimitSeconds = timeLimitSeconds ?? scenario.timeLimitSeconds
        self.progress = progress
    }

    public func run() throws -> VerifyOutcome {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let started = Date()
        // Topic creation and the whole-cluster wait have 60 and 90 s, the final reads their own limit; checking and
        // writing results get five minutes and half the workload's length again.
        let watchdog = RunWatchdog(boundSeconds: 60 + timeLimitSeconds * 1.5 + 90 + scenario.finalReadSeconds + 300,
                                   progress: progress, onStall: onStall)
        defer { watchdog.stop() }
        watchdog.enter("creating the topic")
        let runId = "crucible-verify-\(String(seed, radix: 36))-\(String(UInt64(started.timeIntervalSince1970 * 1_000), radix: 36))"
        let topic = runId
        try createTopic(topic)
        let history = try HistoryRecorder(path: directory + "/history.jsonl")
        ClientLog.open(directory + "/clients.log")
        defer { ClientLog.close() }
        let workers = QueueWorkers(scenario: scenario, seed: seed, bootstrap: cluster.bootstrapServers, topic: topic,
                                   group: runId, history: history)
        var view = ClusterView(cluster: cluster, topic: topic)
        view.group = runId
        view.security = security
        view.transactionalIds = workers.transactionalIds
        let plan = scenario.nemesis.plan(seed: seed, timeLimitSeconds: timeLimitSeconds, keys: scenario.keys)
        let nemesis = Nemesis(cluster: cluster, view: view, history: history, plan: plan)
        progress("topic \(topic): \(scenario.keys) key(s), replication factor \(scenario.replicationFactor); "
                 + "\(scenario.processes) process(es), \(plan.count) nemesis step(s), \(Int(timeLimitSeconds)) s")

        watchdog.enter("running the workload")
        // The brokers' own account of the run (under-replicated and offline partitions, the active controller),
        // beside the history: what a reader of a failed run looks at next.
        let brokers = cluster.metricsURLs.isEmpty ? nil : BrokerScraper(urls: cluster.metricsURLs, periodSeconds: 1)
        let workStart = Date()
        let end = workStart.addingTimeInterval(timeLimitSeconds)
        let nemesisDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            nemesis.run(start: workStart) { Date() >= end }
            nemesisDone.signal()
        }
        let exporter = progressMetrics.map { metrics in
            ProgressTicker(every: 1) { [workers] in
                self.recordProgress(workers.completed, elapsedSeconds: Date().timeIntervalSince(workStart), into: metrics)
            }
        }
        let reporter = ProgressTicker(every: 5) { [workers, progress] in
            let done = workers.completed
            let elapsed = Int(Date().timeIntervalSince(workStart))
            progress("\(min(elapsed, Int(self.timeLimitSeconds)))/\(Int(self.timeLimitSeconds)) s  "
                     + done.keys.sorted().map { "\($0) \(done[$0]!)" }.joined(separator: "  "))
        }
        workers.run(until: end)
        exporter?.stop()
        if let progressMetrics { recordProgress(workers.completed, elapsedSeconds: Date().timeIntervalSince(workStart), into: progressMetrics) }
        watchdog.enter("waiting for the nemesis's last step")
        nemesisDone.wait()
        reporter.stop()
        watchdog.enter("healing every fault")
        nemesis.healAll(at: Date().timeIntervalSince(workStart))
        watchdog.enter("waiting for the cluster to be whole")
        let whole = waitForWholeCluster(topic: topic, timeout: 90)
        if !whole { progress("the cluster was not whole 90 s after healing; reading what it serves") }

        watchdog.enter("reading every key to its end")
        let finalRead = finalReads(workers: workers)
        for key in finalRead.keys where !key.complete {
            progress("final read of key \(key.key) incomplete: read to offset \(key.readUpTo) of \(key.highestOffsetSeen) seen in the run "
                     + "(high watermark \(key.highWatermark.map(String.init) ?? "unknown"))")
        }
        history.close()
        if let series = brokers?.finish() {
            try JSONEncoder.pretty.encode(series).write(to: URL(fileURLWithPath: directory + "/broker-metrics.json"))
        }
        watchdog.enter("collecting the nodes' logs")
        cluster.collectLogs(into: directory + "/nodes")
        watchdog.enter("checking the history")
        let report = try Check.file(history.path, options: CheckOptions(keepHistory: true))
        let analysis = report.analysis
        try write(analysis.json(), to: "analysis.json")
        // The checker's page of this history: what a report's witnesses link to.
        try Data(HTMLView.render(report).utf8).write(to: URL(fileURLWithPath: directory + "/history.html"))
        try JSONEncoder.pretty.encode(nemesis.timeline).write(to: URL(fileURLWithPath: directory + "/nemesis.json"))
        // Acknowledged values the final reads of the whole log did not find: the loss in the plainest terms, whether
        // or not a consumer saw the value before it went (which the checker reports as inconsistent offsets).
        let lost = workers.acknowledged.withLockedValue { acknowledged in
            acknowledged.reduce(0) { sum, entry in sum + entry.value.subtracting(finalRead.values[entry.key] ?? []).count }
        }
        let found = Set(analysis.badAnomalyTypes)
        let validity: Bool? = analysis.validity == .unknown ? nil : analysis.validity == .valid
        let judged = scenario.expect.judge(valid: validity, anomalies: found)
        let outcome = VerifyOutcome(
            scenario: scenario.name, scenarioFile: scenario.file, seed: seed, directory: directory,
            expectationMet: judged.met, reason: judged.reason,
            valid: validity.map { $0 ? "true" : "false" } ?? "unknown",
            anomalyTypes: analysis.anomalyTypes, allowedAnomalyTypes: analysis.anomalyTypes.filter { !found.contains($0) },
            acknowledgedSends: (workers.completed["send ok"] ?? 0) + (workers.completed["txn send ok"] ?? 0),
            acknowledgedWritesLost: lost,
            lostWriteAnomalies: analysis.anomalies(ofType: "lost-write").count,
            operations: workers.completed, nemesis: nemesis.timeline.map { "\($0.atSeconds)s \($0.fault) \($0.target) \($0.nodes)" },
            finalReadsComplete: finalRead.complete, finalReads: finalRead.keys, clusterWholeAfterHealing: whole,
            seconds: Date().timeIntervalSince(started))
        try JSONEncoder.pretty.encode(outcome).write(to: URL(fileURLWithPath: directory + "/run.json"))
        watchdog.enter("deleting the topic")
        deleteTopic(topic)
        return outcome
    }

    /// Jepsen's final phase: a fresh process assigns every key from the beginning and polls until it has read up to
    /// the highest offset seen during the test, or to the partition's end when that is lower (a log that lost its
    /// tail), or the scenario's final-read time runs out. True when every key was read to its end.
    private func finalReads(workers: QueueWorkers) -> (complete: Bool, values: [Int: Set<Int>], keys: [FinalRead]) {
        let deadline = Date().addingTimeInterval(scenario.finalReadSeconds)
        let process = 1_000_000
        var client: QueueClient?
        while client == nil && Date() < deadline {
            client = workers.open(process: process, mode: .assign, transactional: false)
            if client == nil { usleep(500_000) }
        }
        guard let client else { return (false, [:], []) }
        defer { client.close() }
        var values: [Int: Set<Int>] = [:]
        let highest = workers.highestOffsets.withLockedValue { $0 }
        var reached: [Int: Int64] = [:]
        var ends: [Int: Int64] = [:]
        func done(_ key: Int) -> Bool {
            let target = highest[key] ?? -1
            let end = (ends[key] ?? Int64.max) - 1
            return (reached[key] ?? -1) >= min(target, end)
        }
        // How far each key got, so a run whose final reads came up short says where (run.json).
        func progress() -> [FinalRead] {
            (0..<scenario.keys).map { key in
                FinalRead(key: key, highestOffsetSeen: highest[key] ?? -1, highWatermark: ends[key], readUpTo: reached[key] ?? -1,
                          values: values[key]?.count ?? 0, complete: done(key))
            }
        }
        while Date() < deadline {
            for key in 0..<scenario.keys where ends[key] == nil { ends[key] = client.highWatermark(key: key) }
            if (0..<scenario.keys).allSatisfy(done) { return (true, values, progress()) }
            let read = workers.poll(process: process, client: client, waitMs: 500)
            for (key, pairs) in read {
                reached[key] = max(reached[key] ?? -1, pairs.map(\.offset).max() ?? -1)
                values[key, default: []].formUnion(pairs.map(\.value))
            }
        }
        return ((0..<scenario.keys).allSatisfy(done), values, progress())
    }

    private func createTopic(_ topic: String) throws {
        let client = try KafkaClient(bootstrap: cluster.bootstrapServers, clientId: "crucible-verify-admin", requestTimeout: .seconds(30),
                                     security: security)
        defer { client.close() }
        let creation = TopicCreation(name: topic, partitions: Int32(scenario.keys), replicationFactor: Int16(scenario.replicationFactor),
                                     configs: scenario.topicConfig.map { ($0.key, $0.value) })
        _ = try client.createTopic(creation)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let partitions = try? client.refreshMetadata(topics: [topic]).topics[topic]?.partitions,
               partitions.count == scenario.keys, partitions.allSatisfy({ $0.leader >= 0 }) { return }
            usleep(100_000)
        }
        throw VerifyFailure("topic \(topic) did not get a leader for every partition within 60 s")
    }

    private func deleteTopic(_ topic: String) {
        guard let client = try? KafkaClient(bootstrap: cluster.bootstrapServers, clientId: "crucible-verify-admin", security: security) else { return }
        defer { client.close() }
        try? client.deleteTopic(topic)
    }

    /// Every node serving and every key's partition led, so the final reads see the cluster as it settled.
    private func waitForWholeCluster(topic: String, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let client = try? KafkaClient(bootstrap: cluster.bootstrapServers, clientId: "crucible-verify-admin",
                                             requestTimeout: .seconds(3), security: security) {
                let metadata = try? client.refreshMetadata(topics: [topic])
                client.close()
                if let metadata, metadata.brokers.count == cluster.nodeIds.count,
                   let partitions = metadata.topics[topic]?.partitions, partitions.allSatisfy({ $0.leader >= 0 }) { return true }
            }
            usleep(250_000)
        }
        return false
    }

    private func write(_ value: Value, to name: String) throws {
        try Data((JSONWriter.string(value, pretty: true) + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/" + name))
    }
}

/// A run's result, as `run.json` holds it and the summary lists it.
public struct VerifyOutcome: Codable, Sendable {
    public var scenario: String
    public var scenarioFile: String
    public var seed: UInt64
    public var directory: String
    public var expectationMet: Bool
    public var reason: String
    public var valid: String
    public var anomalyTypes: [String]
    public var allowedAnomalyTypes: [String]
    public var acknowledgedSends: Int
    /// Acknowledged values missing from the final reads of every key (counted only when they completed).
    public var acknowledgedWritesLost: Int
    /// The checker's lost-write witnesses (values nobody ever read, below an offset somebody read).
    public var lostWriteAnomalies: Int
    public var operations: [String: Int]
    public var nemesis: [String]
    public var finalReadsComplete: Bool
    /// Per key, how far the final reads got against what they aimed for.
    public var finalReads: [FinalRead]? = nil
    public var clusterWholeAfterHealing: Bool
    public var seconds: Double
    /// The planted broker bug the nodes ran with (`--mutation`), if any: an unmet expectation then means caught.
    public var mutation: String? = nil
}

/// One key's final read: the highest offset any operation saw during the run, the partition's high watermark
/// when the reader asked (nil when it could not), the highest offset read, and how many distinct values.
public struct FinalRead: Codable, Sendable {
    public var key: Int
    public var highestOffsetSeen: Int64
    public var highWatermark: Int64?
    public var readUpTo: Int64
    public var values: Int
    public var complete: Bool
}

/// Calls `body` every `seconds` on a thread of its own until stopped.
final class ProgressTicker: @unchecked Sendable {
    private let stopped = DispatchSemaphore(value: 0)
    init(every seconds: Double, _ body: @escaping @Sendable () -> Void) {
        Thread.detachNewThread { [stopped] in
            while stopped.wait(timeout: .now() + seconds) == .timedOut { body() }
        }
    }
    func stop() { stopped.signal() }
}

extension JSONEncoder {
    static var pretty: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }
}
