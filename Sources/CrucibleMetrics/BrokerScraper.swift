import Foundation
import NIOConcurrencyHelpers

/// The brokers' own view of a benchmark or a verification run: each node's `/metrics` (Crucible's, or any Kafka's behind the JMX exporter
/// with its example configuration) scraped every period beside the client's figures. A
/// node that does not answer (killed by the failover phase) leaves a gap in its series, not an error.
public final class BrokerScraper: @unchecked Sendable {
    private struct Sample {
        var seconds: Double
        var values: [String: Double]
    }

    private let urls: [Int32: String]
    private let periodSeconds: Double
    private let samples = NIOLockedValueBox<[Int32: [Sample]]>([:])
    private let failures = NIOLockedValueBox(0)
    private let stop = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)
    private let started = Date()

    /// The parts of Kafka's RequestMetrics kept for Produce: what the series call them, and the metric's name.
    static let produceParts = [("total", "totaltimems"), ("requestQueue", "requestqueuetimems"), ("local", "localtimems"),
                               ("remote", "remotetimems"), ("responseSend", "responsesendtimems")]

    public init(urls: [Int32: String], periodSeconds: Double) {
        self.urls = urls
        self.periodSeconds = periodSeconds
        Thread.detachNewThread { [self] in
            scrapeAll()
            while stop.wait(timeout: .now() + periodSeconds) == .timedOut { scrapeAll() }
            scrapeAll()
            stopped.signal()
        }
    }

    public func finish() -> BrokerSeries {
        stop.signal()
        stopped.wait()
        let all = samples.withLockedValue { $0 }
        var nodes: [String: BrokerSeries.Node] = [:]
        for (node, url) in urls {
            nodes[String(node)] = Self.series(url: url, all[node] ?? [])
        }
        return BrokerSeries(periodSeconds: periodSeconds, scrapeFailures: failures.withLockedValue { $0 }, nodes: nodes)
    }

    private func scrapeAll() {
        for (node, url) in urls {
            let at = Date().timeIntervalSince(started)
            do {
                let values = Self.kept(MetricsScrape.parse(try MetricsScrape.fetch(url, timeoutSeconds: min(5, periodSeconds))))
                samples.withLockedValue { $0[node, default: []].append(Sample(seconds: at, values: values)) }
            } catch {
                failures.withLockedValue { $0 += 1 }
            }
        }
    }

    /// The figures kept from one scrape, by the names the series use.
    static func kept(_ scraped: [PrometheusSample]) -> [String: Double] {
        var values: [String: Double] = [:]
        for sample in scraped {
            switch sample.name {
            case "kafka_server_replicamanager_underreplicatedpartitions": values["underReplicated"] = sample.value
            case "kafka_server_replicamanager_underminisrpartitioncount": values["underMinIsr"] = sample.value
            case "kafka_controller_kafkacontroller_offlinepartitionscount": values["offline"] = sample.value
            case "kafka_controller_kafkacontroller_activecontrollercount": values["activeController"] = sample.value
            case "kafka_server_brokertopicmetrics_messagesin_total" where (sample.labels["topic"] ?? "").isEmpty:
                values["messagesIn"] = sample.value
            case "process_cpu_seconds_total": values["cpuSeconds"] = sample.value
            default:
                guard sample.labels["request"] == "Produce" else { continue }
                for (part, metric) in produceParts {
                    if sample.name == "kafka_network_requestmetrics_\(metric)_sum" { values["produce.\(part).sum"] = sample.value }
                    if sample.name == "kafka_network_requestmetrics_\(metric)_count" { values["produce.\(part).count"] = sample.value }
                }
            }
        }
        return values
    }

    /// Gauges as scraped; counters as rates and histograms as means between one scrape and the next (nil across a
    /// restart, when a counter starts again from zero).
    private static func series(url: String, _ samples: [Sample]) -> BrokerSeries.Node {
        var node = BrokerSeries.Node(url: url)
        for (previous, sample) in zip(samples, samples.dropFirst()) {
            let elapsed = sample.seconds - previous.seconds
            func delta(_ key: String) -> Double? {
                guard let now = sample.values[key], let before = previous.values[key], now >= before else { return nil }
                return now - before
            }
            node.atSeconds.append(sample.seconds)
            node.underReplicatedPartitions.append(sample.values["underReplicated"])
            node.underMinIsrPartitions.append(sample.values["underMinIsr"])
            node.offlinePartitions.append(sample.values["offline"])
            node.activeController.append(sample.values["activeController"])
            node.messagesInPerSecond.append(delta("messagesIn").map { $0 / elapsed })
            node.cpuCoresUsed.append(delta("cpuSeconds").map { $0 / elapsed })
            for (part, _) in produceParts {
                let count = delta("produce.\(part).count") ?? 0
                node.produceTimeMs[part, default: []].append(count > 0 ? delta("produce.\(part).sum").map { $0 / count } : nil)
            }
        }
        return node
    }
}

/// Per node, one value per scrape after the first: what `crucible.brokerMetrics` holds in a result.
public struct BrokerSeries: Codable, Sendable {
    public var periodSeconds: Double
    public var scrapeFailures: Int
    public var nodes: [String: Node]

    public struct Node: Codable, Sendable {
        public var url: String
        public var atSeconds: [Double] = []
        public var underReplicatedPartitions: [Double?] = []
        public var underMinIsrPartitions: [Double?] = []
        /// Counted by the active controller only.
        public var offlinePartitions: [Double?] = []
        public var activeController: [Double?] = []
        public var messagesInPerSecond: [Double?] = []
        public var cpuCoresUsed: [Double?] = []
        /// Mean milliseconds per Produce request in each interval, by Kafka's RequestMetrics parts.
        public var produceTimeMs: [String: [Double?]] = [:]
    }
}
