import ArgumentParser
import CrucibleVerify
import Foundation

/// `crucible check HISTORY...`: analyse histories alone. Exit 0 all valid, 1 any invalid, 2 bad input (any
/// unreadable history, the others still checked), 3 any unknown and none invalid.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Analyse histories alone.",
        discussion: """
            One history prints its analysis; several (or a directory: a Jepsen store's history.edn files, or every             history file in it) are checked at once on every core, one verdict line each as they finish, then a             summary. Exit codes: 0 all valid, 1 any invalid, 2 bad usage or any unreadable input (the others are             still checked), 3 any unknown (budget exhausted) and none invalid.
            """)

    @Argument(help: "History files (history.jsonl, history.edn, a jepsen.util log, porcupine KV text) or directories of them.")
    var histories: [String]

    @Option(help: "kafka, register or kv (default: from the operations).")
    var workload: String?

    @Option(help: "jsonl, edn, jepsen-log or porcupine-kv (default: from the extension and first line).")
    var format: String?

    @Option(help: "Write analysis.json here.")
    var output: String?

    @Option(help: "Write a self-contained HTML view of the history and its anomalies here.")
    var html: String?

    @Option(help: "Linearizability: give up (exit 3) after this many seconds.")
    var timeLimit: Double?

    @Option(help: "Linearizability: give up (exit 3) after this many search steps per key.")
    var maxSteps: Int?

    @Flag(help: "Linearizability: search every key and report every failing one (default: stop at the smallest failing key, as the verdict is then known); a failing key's whole search can be long, so give --max-steps or --time-limit too.")
    var allKeys = false

    @Option(parsing: .upToNextOption, help: "Kafka: anomaly types to report without failing the check.")
    var allow: [String] = []

    @Option(help: "Kafka: allow poll-skip and nonmonotonic-poll, as subscribe-mode rebalances cause (true/false; default: true iff the history subscribes).")
    var allowRebalances: Bool?

    @Option(help: .hidden)
    var generateKafkaOperations: Int?

    @Option(help: .hidden)
    var seed: UInt64 = 1

    @Option(help: .hidden)
    var plantFault: String?

    /// Benchmarks: read one history once, then check it this many times in the process (warmed, as Porcupine's
    /// benchmarks time its CheckEvents on parsed events) and print the time per check.
    @Option(help: .hidden)
    var repeatCheck: Int?

    func run() throws {
        if let count = generateKafkaOperations { return try generate(count) }
        var options = CheckOptions()
        do {
            if let workload {
                guard let w = Workload(rawValue: workload) else { throw usage("--workload must be kafka, register or kv") }
                options.workload = w
            }
            if let format {
                guard let f = HistoryFormat(rawValue: format) else {
                    throw usage("--format must be one of \(HistoryFormat.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                options.format = f
            }
            for type in allow where !KafkaChecker.anomalyTypes.contains(type) {
                throw usage("--allow: unknown anomaly type \(type)")
            }
            options.kafka.allowedAnomalies.formUnion(allow)
            options.kafka.allowRebalanceAnomalies = allowRebalances
            options.budget = SearchBudget(maxSteps: maxSteps, timeLimit: timeLimit.map { .milliseconds(Int64($0 * 1000)) }, allKeys: allKeys)
            let files = HistoryFiles.expand(histories)
            if files.count != 1 || files != histories { return try checkMany(files, options: options) }
            if let times = repeatCheck { return try checkRepeatedly(files[0], times: times, options: options) }
            options.keepHistory = html != nil
            let report = try Check.file(files[0], options: options)
            if let output {
                try write(JSONWriter.string(report.analysis.json()) + "\n", to: output, flag: "--output")
            }
            if let html {
                try write(HTMLView.render(report), to: html, flag: "--html")
            }
            print(TextSummary.render(report))
            throw ExitCode(report.analysis.validity.exitCode)
        } catch let error as HistoryReadError {
            FileHandle.standardError.write(Data("crucible check: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    private func usage(_ message: String) -> HistoryReadError {
        HistoryReadError(file: histories.first ?? "crucible check", line: 0, expected: message)
    }

    /// Several histories: verdict lines as they finish, a summary, and the exit code the contract gives.
    private func checkMany(_ files: [String], options: CheckOptions) throws {
        guard !files.isEmpty else { throw usage("history files; none found in \(histories.joined(separator: ", "))") }
        if html != nil { throw HistoryReadError(file: "--html", line: 0, expected: "one history (a page per history: check them one by one)") }
        if repeatCheck != nil { throw HistoryReadError(file: "--repeat-check", line: 0, expected: "one history (it times one history's check)") }
        let started = Date()
        let printing = NSLock()
        let verdicts = Check.files(files, options: options) { verdict in
            printing.withLock {
                if case .failure = verdict.outcome {
                    FileHandle.standardError.write(Data("crucible check: \(verdict.line)\n".utf8))
                } else {
                    FileHandle.standardOutput.write(Data((verdict.line + "\n").utf8))
                }
            }
        }
        var counts: [String: Int] = [:]
        for verdict in verdicts {
            switch verdict.outcome {
            case .failure: counts["unreadable", default: 0] += 1
            case .success(let analysis): counts["\(analysis.validity)", default: 0] += 1
            }
        }
        let seconds = Date().timeIntervalSince(started)
        print("\(verdicts.count) histories checked in \(String(format: "%.2f", seconds)) s: "
              + ["valid", "invalid", "unknown", "unreadable"].map { "\(counts[$0] ?? 0) \($0)" }.joined(separator: ", "))
        if let output {
            let entries: [Value] = verdicts.map { verdict in
                switch verdict.outcome {
                case .success(let analysis): return .map([.init(.string("history"), .string(verdict.path)), .init(.string("analysis"), analysis.json())])
                case .failure(let error): return .map([.init(.string("history"), .string(verdict.path)), .init(.string("error"), .string("\(error)"))])
                }
            }
            try write(JSONWriter.string(.vector(entries)) + "\n", to: output, flag: "--output")
        }
        if counts["unreadable"] != nil { throw ExitCode(2) }
        if counts["invalid"] != nil { throw ExitCode(1) }
        throw ExitCode(counts["unknown"] != nil ? 3 : 0)
    }

    private func checkRepeatedly(_ path: String, times: Int, options: CheckOptions) throws {
        guard times > 0 else { throw usage("--repeat-check of at least 1") }
        let (report, seconds) = try Check.repeatedly(path, times: times, options: options)
        let sorted = seconds.sorted()
        let ms = { (seconds: Double) in String(format: "%.4f", seconds * 1000) }
        print("\(path): \(report.analysis.validity), checked \(times) times after one read: median \(ms(sorted[sorted.count / 2])) ms, "
              + "fastest \(ms(sorted[0])) ms, mean \(ms(seconds.reduce(0, +) / Double(times))) ms")
        throw ExitCode(report.analysis.validity.exitCode)
    }

    private func write(_ text: String, to path: String, flag: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            FileHandle.standardError.write(Data("crucible check: \(flag) \(path): cannot write\n".utf8))
            throw ExitCode(2)
        }
    }

    /// Writes a generated, correct Kafka history to HISTORY (for performance measurements).
    private func generate(_ count: Int) throws {
        let fault = plantFault.flatMap(KafkaFault.init(rawValue:))
        let ops = KafkaSimulation(operations: count, processes: count < 1000 ? 4 : 10, keys: count < 1000 ? 2 : 8,
                                  fault: fault).run(seed: seed)
        guard histories.count == 1, let out = OutputStream(toFileAtPath: histories[0], append: false) else { throw ExitCode(2) }
        out.open()
        defer { out.close() }
        var chunk = ""
        for op in ops {
            chunk += HistoryWriter.jsonl(op)
            chunk += "\n"
            if chunk.utf8.count > 1 << 20 {
                let bytes = Array(chunk.utf8)
                _ = out.write(bytes, maxLength: bytes.count)
                chunk = ""
            }
        }
        let bytes = Array(chunk.utf8)
        _ = out.write(bytes, maxLength: bytes.count)
    }
}
