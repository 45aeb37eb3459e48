import CrucibleMetrics
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

    /// Where each period's figures also go when the run serves its own `/metrics` (`--metrics-port`).
    public var metrics: MetricsRegistry?

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
        if let metrics {
            record(into: metrics, label: label, phase: phase, producer: producer, consumer: consumer, seconds: seconds, backlog: backlog)
        }
    }

    /// One period as series labelled by run (`crucible_bench_*`): totals as counters, the period's rates,
    /// backlog and latency percentiles as gauges.
    private func record(into metrics: MetricsRegistry, label: String, phase: String, producer: ProducerPeriod,
                        consumer: ConsumerPeriod, seconds: Double, backlog: Int) {
        let run = [("run", label)], bench = "crucible_bench_"
        metrics.counter(bench + "published_messages_total", run, help: "Messages acknowledged to the producers.")
            .increment(by: Int64(producer.acknowledged))
        metrics.counter(bench + "published_bytes_total", run).increment(by: Int64(producer.acknowledgedBytes))
        metrics.counter(bench + "received_messages_total", run, help: "Messages the consumers received.")
            .increment(by: Int64(consumer.received))
        metrics.counter(bench + "publish_errors_total", run).increment(by: Int64(producer.errors))
        metrics.gauge(bench + "publish_rate", run, help: "Messages per second acknowledged in the last period.")
            .set(Double(producer.acknowledged) / seconds)
        metrics.gauge(bench + "consume_rate", run).set(Double(consumer.received) / seconds)
        metrics.gauge(bench + "backlog_messages", run).set(Double(backlog))
        for (quantile, micros) in [("0.5", producer.publish.valueAtPercentile(50)), ("0.99", producer.publish.valueAtPercentile(99)),
                                   ("1", producer.publish.max)] {
            metrics.gauge(bench + "publish_latency_ms", run + [("quantile", quantile)],
                          help: "Publish latency in the last period, by quantile.").set(Double(micros) / 1_000)
        }
        metrics.gauge(bench + "end_to_end_latency_ms", run + [("quantile", "0.99")])
            .set(Double(consumer.endToEnd.valueAtPercentile(99)) / 1_000)
        metrics.counter(bench + "periods_total", run + [("phase", phase)]).increment()
        metrics.gauge(bench + "remaining_seconds", help: "Estimated seconds until every queued run ends.").set(remainingSeconds)
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
