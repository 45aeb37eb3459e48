import CrucibleWorkload
import Foundation

/// The timed tier from a `crucible bench` result (OMB's result JSON): each statistics period is one sample, so a
/// run carries its own spread. Throughput is divided by the loopback bandwidth the same run measured (its
/// calibration), so a machine busier or idler than the baseline's moves both; latency percentiles stay in
/// milliseconds. The workload a result measured is its OMB workload and driver: the gate compares only like with like.
extension GateFile {
    public init(benchResult result: TestResult) {
        var metrics: [String: Metric] = [:]
        let loopback = result.crucible?["calibration"]?["loopbackBytesPerSecond"]?.number
        let rates = result.publishRate.filter { $0 > 0 }
        if let loopback, loopback > 0 {
            metrics["publishRate.toLoopback"] = Metric(unit: "ratio", tier: .timed, better: .higher,
                                                       samples: rates.map { $0 * Double(result.messageSize) / loopback })
        } else {
            metrics["publishRate"] = Metric(unit: "msg/s", tier: .timed, better: .higher, samples: rates)
        }
        let series: [(String, [Double])] = [
            ("publishLatency50pct", result.publishLatency50pct), ("publishLatency99pct", result.publishLatency99pct),
            ("endToEndLatency50pct", result.endToEndLatency50pct), ("endToEndLatency99pct", result.endToEndLatency99pct),
        ]
        for (name, samples) in series where !samples.isEmpty {
            metrics[name] = Metric(unit: "ms", tier: .timed, better: .lower, samples: samples)
        }
        // OMB's driver files all call themselves "Kafka": the file a run was given tells drivers apart.
        let driver = result.crucible?["driverFile"]?.string.map { ($0 as NSString).lastPathComponent } ?? result.driver
        self.init(workload: "\(result.workload) with \(driver)", metrics: metrics.filter { !$0.value.samples.isEmpty })
    }

    /// A gate file, or a bench result turned into one; anything else is refused naming the file.
    public static func loadAny(path: String) throws -> GateFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw GateInputError(path, "cannot be read") }
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        guard let object, object["format"] == nil, object["publishRate"] != nil else { return try load(path: path) }
        let result: TestResult
        do {
            result = try JSONDecoder().decode(TestResult.self, from: data)
        } catch {
            throw GateInputError(path, "is an incomplete bench result (\(error))")
        }
        let file = GateFile(benchResult: result)
        guard !file.metrics.isEmpty else { throw GateInputError(path, "is a bench result with no periods measured") }
        return file
    }
}

extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}
