// The front door used by `crucible check` and the tests: read a history, pick the checker for its
// workload, and return the analysis. Reading, model decoding and checking stay separate parts; this only
// wires them.

public enum Workload: String, CaseIterable, Sendable {
    case kafka, register, kv

    /// The workload whose operations the history's clients perform (the first client f that names one).
    public static func detect(_ history: History) -> Workload? {
        for op in history.operations where op.process.isClient {
            if let workload = named(by: op.f) { return workload }
        }
        return nil
    }

    /// The workload a client operation's f belongs to, if it names one.
    static func named(by f: String) -> Workload? {
        switch f {
        case "send", "poll", "txn", "assign", "subscribe": return .kafka
        case "read", "write", "cas": return .register
        case "get", "put", "append": return .kv
        default: return nil
        }
    }
}

public struct CheckOptions: Sendable {
    public var workload: Workload?
    public var format: HistoryFormat?
    public var kafka = KafkaCheckOptions()
    public var budget = SearchBudget()
    /// Keep the whole history in the report (for its HTML page). Without it a Kafka history is streamed: only
    /// its compact operations are held, never its text or value trees.
    public var keepHistory = false

    public init(workload: Workload? = nil, format: HistoryFormat? = nil, kafka: KafkaCheckOptions = KafkaCheckOptions(),
                budget: SearchBudget = SearchBudget(), keepHistory: Bool = false) {
        self.workload = workload
        self.format = format
        self.kafka = kafka
        self.budget = budget
        self.keepHistory = keepHistory
    }
}

public struct CheckReport: Sendable {
    /// Where the history came from, and how many entries it had.
    public var source: String
    public var entries: Int
    /// The history itself, when it was kept (`CheckOptions.keepHistory`, or checked from memory).
    public var history: History?
    public var workload: Workload
    public var analysis: Analysis
    /// Seconds spent reading and checking, for stats and the summary.
    public var readSeconds: Double
    public var checkSeconds: Double
}

public enum Check {
    /// Reads and checks a history file. Throws HistoryReadError for unreadable input (exit 2).
    public static func file(_ path: String, options: CheckOptions = CheckOptions()) throws -> CheckReport {
        let clock = ContinuousClock()
        let t0 = clock.now
        if !options.keepHistory,
           let streamed = try KafkaHistoryStream.read(path: path, format: options.format, workload: options.workload) {
            let t1 = clock.now
            var analysis = KafkaChecker.check(operations: streamed.operations, options: options.kafka)
            analysis.stats.append(.init(.string("history-operations"), .int(streamed.entries)))
            return CheckReport(source: path, entries: streamed.entries, history: nil, workload: .kafka, analysis: analysis,
                               readSeconds: (t1 - t0).seconds, checkSeconds: (clock.now - t1).seconds)
        }
        let history = try HistoryReader.read(path: path, format: options.format)
        let t1 = clock.now
        var report = try self.history(history, options: options)
        report.readSeconds = (t1 - t0).seconds
        return report
    }

    /// Reads a history once and checks it `times` times (a benchmark's warmed figure): the last report, and the
    /// seconds each check took.
    public static func repeatedly(_ path: String, times: Int, options: CheckOptions = CheckOptions()) throws -> (CheckReport, [Double]) {
        precondition(times > 0, "a history checked at least once")
        let history = try HistoryReader.read(path: path, format: options.format)
        var seconds: [Double] = []
        var report: CheckReport?
        let clock = ContinuousClock()
        for _ in 0..<times {
            let start = clock.now
            report = try self.history(history, options: options)
            seconds.append((clock.now - start).seconds)
        }
        return (report!, seconds)
    }

    public static func history(_ history: History, options: CheckOptions = CheckOptions()) throws -> CheckReport {
        guard let workload = options.workload ?? Workload.detect(history) else {
            throw HistoryReadError(file: history.source, line: 0,
                                   expected: "client operations of a known workload (kafka, register, kv); pass --workload")
        }
        let clock = ContinuousClock()
        let t0 = clock.now
        var analysis: Analysis
        switch workload {
        case .kafka:
            analysis = try KafkaChecker.check(history, options: options.kafka)
        case .register:
            analysis = LinearizabilityChecker.check(model: RegisterModel(), partitions: try ModelHistories.registers(history),
                                                    name: "linearizable-register", budget: options.budget)
        case .kv:
            analysis = LinearizabilityChecker.check(InternedKVModel.interning(try ModelHistories.kv(history)),
                                                    name: "linearizable-kv", budget: options.budget)
        }
        let seconds = (clock.now - t0).seconds
        analysis.stats.append(.init(.string("history-operations"), .int(history.count)))
        if history.skippedLines > 0 { analysis.stats.append(.init(.string("skipped-lines"), .int(history.skippedLines))) }
        return CheckReport(source: history.source, entries: history.count, history: history, workload: workload,
                           analysis: analysis, readSeconds: 0, checkSeconds: seconds)
    }
}

extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
