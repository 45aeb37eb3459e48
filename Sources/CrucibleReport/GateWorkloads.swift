import CrucibleRecords
import CrucibleStorage
import CrucibleVerify
import Foundation
import NIOCore

/// The gate's deterministic tier: fixed micro-workloads over the hot paths, the same work on every run (fixed
/// bytes, fixed seeds, no clocks in what they compute), so that the instructions they execute, counted by
/// valgrind's callgrind, do not move with the machine's load. Each runs once in a process of its own; `none`
/// is the process alone, subtracted from the others.
public enum GateWorkload: String, CaseIterable, Sendable {
    case none
    /// Producer-side validation of what a client sends: framing, CRC-32C, record parsing (64 batches of 16
    /// 1 KiB records, validated 10 times).
    case batchValidation = "batch-validation"
    /// A partition log taking 1,000 batches as leader (offsets stamped, indexes written, segments rolled every
    /// 1 MiB), then every batch looked up by offset and read back from the page cache, as a Fetch does.
    case logAppendAndRead = "log-append-and-read"
    /// The Kafka-queue checker over a fixed simulated history of 5,000 operations.
    case kafkaChecker = "kafka-checker"

    public var summary: String {
        switch self {
        case .none: return "the process alone"
        case .batchValidation: return "batch validation and CRC-32C: 64 batches of 16 x 1 KiB records, 10 times"
        case .logAppendAndRead: return "log append of 1,000 batches (1 MiB segments), then index lookup and read of each"
        case .kafkaChecker: return "the Kafka checker on a fixed 5,000-operation history"
        }
    }

    /// Runs the workload once; what it returns is checked so the optimiser cannot drop the work.
    public func run() throws -> Int {
        switch self {
        case .none: return 0
        case .batchValidation: return try Self.validateBatches()
        case .logAppendAndRead: return try Self.appendAndRead()
        case .kafkaChecker: return Self.checkHistory()
        }
    }

    static func batch(records: Int, firstValue: Int) throws -> ByteBuffer {
        var builder = RecordBatchBuilder()
        for index in 0..<records {
            let byte = UInt8(truncatingIfNeeded: firstValue + index)
            builder.append(Record(timestamp: 1_700_000_000_000 + Int64(index), key: nil, value: [UInt8](repeating: byte, count: 1024)))
        }
        return try builder.build()
    }

    static func validateBatches() throws -> Int {
        var all = ByteBuffer()
        for index in 0..<64 {
            var one = try batch(records: 16, firstValue: index)
            all.writeBuffer(&one)
        }
        let validator = BatchValidator(maxBatchBytes: 1 << 24)
        var records = 0
        for _ in 0..<10 { records += try validator.validate(all).recordCount }
        return records
    }

    static func appendAndRead() throws -> Int {
        let directory = NSTemporaryDirectory() + "crucible-gate-log-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var config = LogConfig()
        config.segmentBytes = 1 << 20
        let log = try PartitionLog(directory: directory, topic: "gate", partition: 0, config: config, recoveryPoint: nil,
                                   nowMs: 1_700_000_000_000)
        let template = try batch(records: 4, firstValue: 7)
        for index in 0..<1_000 {
            var copy = template
            let span = try RecordBatch.spans(in: copy, allowPartialTail: false)[0]
            _ = try log.appendAsLeader(&copy, span: span, leaderEpoch: 0, nowMs: 1_700_000_000_000 + Int64(index))
        }
        var bytes = 0
        let end = log.logEndOffset
        for offset in stride(from: Int64(0), to: end, by: 4) {
            bytes += try log.readBytes(from: offset, maxBytes: 4_096, endOffset: end).readableBytes
        }
        try log.close(nowMs: 1_700_000_000_000)
        return bytes
    }

    static func checkHistory() -> Int {
        let operations = KafkaSimulation(operations: 5_000, processes: 8, keys: 4).run(seed: 1)
        guard let history = try? History(operations: operations),
              // One thread: an instruction count must not depend on how the finders were scheduled.
              let analysis = try? KafkaChecker.check(history, options: KafkaCheckOptions(concurrent: false)) else { return -1 }
        return analysis.anomalyTypes.count + operations.count
    }
}
