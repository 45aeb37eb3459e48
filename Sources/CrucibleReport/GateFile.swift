import Foundation

/// What `crucible gate` compares: named metrics from one measured build, each with every repetition's sample, so
/// the comparison can tell a change from the noise of a shared machine. Baselines are committed files of this
/// format; a candidate is measured the same way and compared against one.
public struct GateFile: Codable, Sendable, Equatable {
    public static let formatName = "crucible-gate/1"

    public var format: String
    /// What was measured (the micro-workload set, or the benchmark workload a result came from). A candidate is
    /// compared only with a baseline of the same workload.
    public var workload: String
    public var metrics: [String: Metric]

    public struct Metric: Codable, Sendable, Equatable {
        /// Deterministic figures (instruction and allocation counts) do not move with the machine's load; timed
        /// ones do, and are kept as ratios to a limit measured in the same run where they can be.
        public enum Tier: String, Codable, Sendable { case deterministic, timed }
        public enum Better: String, Codable, Sendable { case lower, higher }

        public var unit: String
        public var tier: Tier
        public var better: Better
        /// One per repetition (or, from a single bench result, one per statistics period).
        public var samples: [Double]
        /// How many independent runs the samples come from, when fewer than the samples: one bench result's
        /// periods share its run's luck (leader placement, page-cache state), so they show the spread within a
        /// run, not between runs. Absent: every sample is a run of its own.
        public var runs: Int?

        public init(unit: String, tier: Tier, better: Better, samples: [Double], runs: Int? = nil) {
            self.unit = unit
            self.tier = tier
            self.better = better
            self.samples = samples
            self.runs = runs
        }

        /// Independent runs behind the samples.
        public var runCount: Int { runs ?? samples.count }
    }

    /// Several measurements of the same workload as one: per metric, one sample per file (its median), so the
    /// spread is the spread between runs. A single file is returned as it is.
    public static func pooled(_ files: [GateFile]) -> GateFile {
        guard files.count > 1 else { return files[0] }
        var metrics: [String: Metric] = [:]
        for name in Set(files.flatMap(\.metrics.keys)) {
            let present = files.compactMap { $0.metrics[name] }
            let first = present[0]
            metrics[name] = Metric(unit: first.unit, tier: first.tier, better: first.better,
                                   samples: present.map { GateComparison.median($0.samples) })
        }
        return GateFile(workload: files[0].workload, metrics: metrics)
    }

    public init(workload: String, metrics: [String: Metric]) {
        format = Self.formatName
        self.workload = workload
        self.metrics = metrics
    }

    /// Reads a gate file; anything else is refused naming the file and what is wrong with it.
    public static func load(path: String) throws -> GateFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw GateInputError(path, "cannot be read") }
        let file: GateFile
        do {
            file = try JSONDecoder().decode(GateFile.self, from: data)
        } catch let error as DecodingError {
            throw GateInputError(path, "is not a gate file (\(Self.describe(error)))")
        } catch {
            throw GateInputError(path, "is not JSON (\(error.localizedDescription))")
        }
        guard file.format == formatName else { throw GateInputError(path, "format \(file.format) is not \(formatName)") }
        guard !file.metrics.isEmpty else { throw GateInputError(path, "has no metrics") }
        for (name, metric) in file.metrics.sorted(by: { $0.key < $1.key }) {
            guard !metric.samples.isEmpty else { throw GateInputError(path, "metric \(name) has no samples") }
            guard metric.samples.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw GateInputError(path, "metric \(name) has a sample that is negative or not a number")
            }
            if let runs = metric.runs, !(1...metric.samples.count).contains(runs) {
                throw GateInputError(path, "metric \(name) says its \(metric.samples.count) sample(s) come from \(runs) runs")
            }
        }
        return file
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }

    /// A decoding failure in a line that names the key at fault.
    static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .keyNotFound(let key, let context): return "missing \(path(context.codingPath + [key]))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type at \(path(context.codingPath))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "malformed JSON" : "bad value at \(path(context.codingPath))"
        @unknown default: return "unreadable"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

/// Input the gate cannot use: a missing or malformed file, or a result of another workload (exit 2).
public struct GateInputError: Error, CustomStringConvertible {
    public let description: String
    public init(_ file: String, _ problem: String) { description = "\(file): \(problem)" }
    public init(_ problem: String) { description = problem }
}
