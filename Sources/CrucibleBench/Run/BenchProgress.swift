import Foundation

/// Progress for people watching a long run: one line per period with rates, backlog, latency and errors, and an
/// estimate of the time left for the whole invocation.
public final class BenchProgress: @unchecked Sendable {
    private let write: (String) -> Void
    private let started = Date()
    /// Seconds the runs not yet started are expected to take.
    private var queuedSeconds: Double
    /// When the current run is expected to end.
    private var currentRunEnd = Date()

    public init(queuedSeconds: Double, write: @escaping (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) {
        self.queuedSeconds = queuedSeconds
        self.write = write
    }

    /// A run begins that is expected to last `seconds`.
    func beginRun(expectedSeconds seconds: Double) {
        queuedSeconds = max(0, queuedSeconds - seconds)
        currentRunEnd = Date().addingTimeInterval(seconds)
    }

    /// The current run's end moved (a search took longer, a backlog drains slowly).
    func extendRun(to end: Date) { currentRunEnd = max(currentRunEnd, end) }

    public func note(_ text: String) { write(text) }

    func period(label: String, phase: String, elapsed: Double, length: Double, producer: ProducerPeriod,
                consumer: ConsumerPeriod, seconds: Double, backlog: Int) {
        let publishRate = Double(producer.acknowledged) / seconds
        let consumeRate = Double(consumer.received) / seconds
        let publishMB = String(format: "%.1f", Double(producer.acknowledgedBytes) / seconds / 1_048_576)
        let consumeMB = String(format: "%.1f", Double(consumer.receivedBytes) / seconds / 1_048_576)
        let line = "[\(label)] \(phase) \(clock(elapsed))/\(clock(length))  pub \(grouped(publishRate)) msg/s \(publishMB) MB/s"
            + "  cons \(grouped(consumeRate)) msg/s \(consumeMB) MB/s  backlog \(grouped(Double(backlog)))"
            + "  pub p50 \(millis(producer.publish.valueAtPercentile(50))) p99 \(millis(producer.publish.valueAtPercentile(99)))"
            + " max \(millis(producer.publish.max)) ms  e2e p99 \(millis(consumer.endToEnd.valueAtPercentile(99))) ms"
            + "  errors \(producer.errors)  ETA \(clock(remainingSeconds))"
        write(line)
    }

    var remainingSeconds: Double { max(0, currentRunEnd.timeIntervalSinceNow) + queuedSeconds }

    private func millis(_ micros: UInt64) -> String { String(format: "%.2f", Double(micros) / 1_000) }

    private func grouped(_ value: Double) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = 0
        return formatter.string(from: NSNumber(value: value)) ?? String(Int(value))
    }

    private func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 3_600 ? String(format: "%d:%02d:%02d", total / 3_600, total / 60 % 60, total % 60)
            : String(format: "%d:%02d", total / 60, total % 60)
    }
}
