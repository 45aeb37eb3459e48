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
        /// One per repetition.
        public var samples: [Double]

        public init(unit: String, tier: Tier, better: Better, samples: [Double]) {
            self.unit = unit
            self.tier = tier
            self.better = better
            self.samples = samples
        }
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
