import Foundation
import Yams

/// What one `crucible bench` invocation runs: pairs of a workload file and a driver file. Plain workload files
/// run with every `--driver` given (or the default driver); a Crucible set file (a YAML mapping with `runs:`)
/// names its own pairs, paths relative to itself:
///
///     name: latency per acks level
///     runs:
///       - workload: workloads/1kb-half-max-rate.yaml
///         drivers: [drivers/acks-1-rf-1.yaml, drivers/acks-all-rf-3.yaml]
public struct BenchPlan: Sendable {
    public struct Entry: Sendable, Equatable {
        public var workloadFile: String
        /// nil: the default driver.
        public var driverFile: String?
    }

    public var entries: [Entry] = []

    /// True when the file is a set of runs rather than an OMB workload.
    public static func isSet(path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path),
              let mapping = try? Yams.load(yaml: String(decoding: data, as: UTF8.self)) as? [String: Any] else { return false }
        return mapping["runs"] != nil
    }

    public static func make(files: [String], drivers: [String]) throws -> BenchPlan {
        var plan = BenchPlan()
        for file in files {
            if isSet(path: file) {
                plan.entries += try setEntries(file)
            } else if drivers.isEmpty {
                plan.entries.append(Entry(workloadFile: file, driverFile: nil))
            } else {
                plan.entries += drivers.map { Entry(workloadFile: file, driverFile: $0) }
            }
        }
        return plan
    }

    static func setEntries(_ path: String) throws -> [Entry] {
        var map = try YAMLMapping.load(path: path)
        _ = try map.string("name")
        _ = try map.string("description")
        map.markRead("runs")
        guard let runs = map.raw("runs") as? [Any], !runs.isEmpty else { throw WorkloadFileError(path, "runs: expected a list of {workload, drivers}") }
        if let unknown = map.unreadKeys.first { throw WorkloadFileError(path, "\(unknown): not a key of a Crucible benchmark set") }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        let resolve = { (relative: String) in relative.hasPrefix("/") ? relative : base.appendingPathComponent(relative).path }
        var entries: [Entry] = []
        for (index, run) in runs.enumerated() {
            guard let run = run as? [String: Any], let workload = run["workload"] as? String else {
                throw WorkloadFileError(path, "runs[\(index)]: expected a mapping with workload (and drivers)")
            }
            if let unknown = run.keys.first(where: { $0 != "workload" && $0 != "drivers" }) {
                throw WorkloadFileError(path, "runs[\(index)].\(unknown): expected workload and drivers only")
            }
            let drivers: [String?]
            switch run["drivers"] {
            case nil: drivers = [nil]
            case let list as [String]: drivers = list.map { resolve($0) }
            case let one as String: drivers = [resolve(one)]
            default: throw WorkloadFileError(path, "runs[\(index)].drivers: expected a list of driver files")
            }
            entries += drivers.map { Entry(workloadFile: resolve(workload), driverFile: $0) }
        }
        return entries
    }
}
