import ArgumentParser
import CrucibleVerify
import Foundation

/// `crucible check HISTORY`: analyse a history alone. Exit 0 valid, 1 invalid, 2 bad input, 3 unknown.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Analyse a history alone.",
        discussion: "Exit codes: 0 valid, 1 invalid, 2 bad usage or unreadable input, 3 unknown (budget exhausted).")

    @Argument(help: "The history file (history.jsonl, history.edn, a jepsen.util log, porcupine KV text).")
    var history: String

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
            options.budget = SearchBudget(maxSteps: maxSteps, timeLimit: timeLimit.map { .milliseconds(Int64($0 * 1000)) })
            let report = try Check.file(history, options: options)
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
        HistoryReadError(file: history, line: 0, expected: message)
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
        guard let out = OutputStream(toFileAtPath: history, append: false) else { throw ExitCode(2) }
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
