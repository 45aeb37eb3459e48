import CrucibleWorkload
import Foundation

/// The timed tier from a `crucible bench` result (OMB's result JSON): each statistics period is one sample, so a
/// run carries its own spread. A run at a fixed rate is judged on whether it kept to its schedule (the rate over
/// the target: the machine's bandwidth has nothing to do with a rate the schedule set), and on its latency
/// percentiles in milliseconds; a searched maximum is divided by the loopback bandwidth the same run measured (its
/// calibration), so a machine busier or idler than the baseline's moves both. The workload a result measured is
/// its OMB workload and driver: the gate compares only like with like.
extension GateFile {
    public init(benchResult result: TestResult) {
        var metrics: [String: Metric] = [:]
        let loopback = result.crucible?["calibration"]?["loopbackBytesPerSecond"]?.number
        let target = result.crucible?["targetRate"]?.number ?? 0
        if target > 0 {
            metrics["publishRate.toTarget"] = Metric(unit: "ratio", tier: .timed, better: .higher,
                                                     samples: result.publishRate.filter { $0 > 0 }.map { $0 / target })
        } else {
            metrics["publishRate"] = Metric(unit: "msg/s", tier: .timed, better: .higher, samples: result.publishRate.filter { $0 > 0 })
        }
        if let found = result.crucible?["maxSustainableRate"]?.number, found > 0 {
            if let loopback, loopback > 0 {
                metrics["maxSustainableRate.toLoopback"] = Metric(unit: "ratio", tier: .timed, better: .higher,
                                                                  samples: [found * Double(result.messageSize) / loopback])
            } else {
                metrics["maxSustainableRate"] = Metric(unit: "msg/s", tier: .timed, better: .higher, samples: [found])
            }
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
        // Every sample here comes from this one run.
        self.init(workload: "\(result.workload) with \(driver)",
                  metrics: metrics.filter { !$0.value.samples.isEmpty }.mapValues { var m = $0; m.runs = 1; return m })
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
