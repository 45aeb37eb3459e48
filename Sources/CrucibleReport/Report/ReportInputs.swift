import CrucibleVerify
import CrucibleVerifyRun
import CrucibleWorkload
import Foundation

/// Input `crucible report` cannot use, naming the file or directory at fault (exit 2).
public struct ReportInputError: Error, CustomStringConvertible {
    public let description: String
    init(_ path: String, _ problem: String) { description = "\(path): \(problem)" }
}

/// What one RESULT_DIR holds: `crucible bench` results (OMB result JSONs, the summary beside them) or
/// `crucible verify` runs (a `run.json` per run, with its history, analysis and nemesis timeline).
public enum ResultDirectory {
    case bench(BenchResults)
    case verify(VerifyResults)

    public static func load(_ path: String) throws -> ResultDirectory {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ReportInputError(path, "no such directory")
        }
        guard isDirectory.boolValue else { throw ReportInputError(path, "is a file; give the result directory it is in") }
        let files = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).sorted()
        let runFiles = files.filter { ($0 as NSString).lastPathComponent == "run.json" }
        if !runFiles.isEmpty {
            return .verify(try VerifyResults(directory: path, runFiles: runFiles))
        }
        let candidates = files.filter { $0.hasSuffix(".json") && !$0.contains("/") && $0 != "summary.json" }
        if !candidates.isEmpty {
            return .bench(try BenchResults(directory: path, files: candidates))
        }
        throw ReportInputError(path, "holds neither bench results (OMB result JSON files) nor verify runs (run.json)")
    }
}

/// One `crucible bench` output directory.
public struct BenchResults {
    public let directory: String
    public let runs: [BenchRunResult]
    /// From summary.json when present: runs that failed outright, and whether the tool started the cluster.
    public let failures: [String]
    public let embeddedCluster: Bool?

    init(directory: String, files: [String]) throws {
        self.directory = directory
        runs = try files.map { try BenchRunResult(path: directory + "/" + $0) }
        var failures: [String] = []
        var embedded: Bool?
        if let data = FileManager.default.contents(atPath: directory + "/summary.json") {
            guard let summary = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ReportInputError(directory + "/summary.json", "is not a JSON object")
            }
            failures = summary["failures"] as? [String] ?? []
            embedded = summary["embeddedCluster"] as? Bool
        }
        self.failures = failures
        embeddedCluster = embedded
    }
}

/// One OMB result file with Crucible's additions.
public struct BenchRunResult {
    public let path: String
    public let result: TestResult

    init(path: String) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else { throw ReportInputError(path, "cannot be read") }
        guard (try? JSONSerialization.jsonObject(with: data)) != nil else { throw ReportInputError(path, "is not JSON") }
        do {
            result = try JSONDecoder().decode(TestResult.self, from: data)
        } catch {
            throw ReportInputError(path, "is not a bench result (\(GateFile.describe(error)))")
        }
        guard !result.publishRate.isEmpty else { throw ReportInputError(path, "is a bench result with no periods measured") }
    }

    var extras: JSONValue { result.crucible.map { .object($0) } ?? .null }
    /// The driver file's name: OMB's driver files all call themselves "Kafka".
    public var driverName: String {
        extras["driverFile"]?.string.map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension } ?? result.driver
    }
    /// What makes two runs comparable: the same workload with the same driver.
    public var identity: String { "\(result.workload) with \(driverName)" }
    var acks: String { extras["acks"]?.string ?? "?" }
    var codec: String { extras["compressionType"]?.string ?? "?" }
    var replicationFactor: Int? { extras["replicationFactor"]?.number.map { Int($0) } }
    var failedSends: Int { Int(extras["sendsFailed"]?.number ?? 0) }
    var maxSustainableRate: Double? { extras["maxSustainableRate"]?.number }
    var meanPublishRate: Double { extras["publishRate"]?.number ?? result.publishRate.reduce(0, +) / Double(result.publishRate.count) }
    var publishMBps: Double? { extras["publishMBps"]?.number }
    var compressionRatio: Double? { extras["compressionRatio"]?.number }
    /// This run's throughput over one of its calibrated limits (`publishToLoopback`, ...).
    func ratio(_ name: String) -> Double? { extras["ratios"]?[name]?.number }
    var fromIntended: JSONValue? { extras["publishLatencyFromIntendedMs"] }
    var failovers: [JSONValue] { extras["failovers"]?.array ?? [] }
    /// Whether any publish or end-to-end latency was recorded (a run that acknowledged nothing has none to draw).
    var hasLatency: Bool { !result.aggregatedPublishLatencyQuantiles.isEmpty || !result.aggregatedEndToEndLatencyQuantiles.isEmpty }
}

/// One `crucible verify` output directory: every run under it.
public struct VerifyResults {
    public let directory: String
    public let runs: [VerifyRunResult]

    init(directory: String, runFiles: [String]) throws {
        self.directory = directory
        runs = try runFiles.map { try VerifyRunResult(directory: directory + "/" + ($0 as NSString).deletingLastPathComponent) }
    }
}

/// One verify run: its outcome, the nemesis timeline, the checker's witnesses, the history (for latencies) and the
/// brokers' series.
public struct VerifyRunResult {
    public let directory: String
    public let outcome: VerifyOutcome
    public let nemesis: [NemesisEvent]
    /// Anomaly type to the operation indexes of each witness.
    public let witnesses: [String: [[Int]]]
    public let history: History?
    /// The checker's page of this history, when the run wrote one.
    public let historyView: String?
    /// Per node, the series scraped from its `/metrics` during the run (`broker-metrics.json`), when there is one.
    public let brokerSeries: [String: JSONValue]?

    public struct NemesisEvent: Decodable {
        public var atSeconds: Double
        public var fault: String
        public var target: String
        public var nodes: [Int32]
    }

    init(directory: String) throws {
        self.directory = directory
        outcome = try Self.decode(VerifyOutcome.self, directory + "/run.json", what: "a verify run")
        nemesis = FileManager.default.fileExists(atPath: directory + "/nemesis.json")
            ? try Self.decode([NemesisEvent].self, directory + "/nemesis.json", what: "a nemesis timeline") : []
        var witnesses: [String: [[Int]]] = [:]
        if let data = FileManager.default.contents(atPath: directory + "/analysis.json") {
            guard let analysis = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ReportInputError(directory + "/analysis.json", "is not a JSON object")
            }
            for (type, list) in analysis["anomalies"] as? [String: [Any]] ?? [:] {
                witnesses[type] = list.map { witness in
                    ((witness as? [String: Any])?["ops"] as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.intValue }
                }
            }
        }
        self.witnesses = witnesses
        let historyPath = directory + "/history.jsonl"
        if FileManager.default.fileExists(atPath: historyPath) {
            do {
                history = try HistoryReader.read(path: historyPath, format: .jsonl)
            } catch {
                throw ReportInputError(historyPath, "\(error)")
            }
        } else {
            history = nil
        }
        historyView = FileManager.default.fileExists(atPath: directory + "/history.html") ? directory + "/history.html" : nil
        let metricsPath = directory + "/broker-metrics.json"
        if FileManager.default.fileExists(atPath: metricsPath) {
            guard case .object(let nodes)? = try Self.decode(JSONValue.self, metricsPath, what: "the brokers' series")["nodes"] else {
                throw ReportInputError(metricsPath, "has no per-node series (\"nodes\")")
            }
            brokerSeries = nodes
        } else {
            brokerSeries = nil
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ path: String, what: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else { throw ReportInputError(path, "cannot be read") }
        guard (try? JSONSerialization.jsonObject(with: data)) != nil else { throw ReportInputError(path, "is not JSON") }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw ReportInputError(path, "is not \(what) (\(GateFile.describe(error)))")
        }
    }
}

extension JSONValue {
    var array: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }
}
