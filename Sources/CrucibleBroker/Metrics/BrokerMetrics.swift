import CrucibleController
import CrucibleMetrics
import CrucibleProtocol
import NIOConcurrencyHelpers
import Prometheus

/// A node's metrics under the names Kafka's Prometheus JMX exporter gives Kafka's MBeans with its example Kafka
/// configuration (`kafka_<domain>_<type>_<name>`, lowercased; a meter's count with `_total`; the MBean's keys,
/// `topic`, `partition`, `request`, as labels), so dashboards and alerts written for Kafka read them unchanged.
/// Counters move where things happen; gauges of state are computed at each scrape from the partitions and the
/// metadata quorum. Fetch's RequestMetrics are FetchConsumer's and FetchFollower's, as Kafka splits them.
final class BrokerMetrics: Sendable {
    let registry: MetricsRegistry
    private let messagesIn, bytesIn, bytesOut, totalProduceRequests, failedProduceRequests: Counter
    private let totalFetchRequests, failedFetchRequests, isrShrinks, isrExpands, uncleanElections: Counter
    private let leaderElections, logFlushes: ValueHistogram

    /// Milliseconds, as Kafka's RequestMetrics report them.
    static let latencyBuckets: [Double] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000]

    /// The all-topics series of a per-topic metric: `topic=""`, which Prometheus reads as no label at all (the
    /// exporter's all-topics MBean has none), in the same family as the per-topic series.
    static let allTopics = [("topic", "")]

    init(registry: MetricsRegistry = MetricsRegistry()) {
        self.registry = registry
        let topics = "kafka_server_brokertopicmetrics_", all = Self.allTopics
        messagesIn = registry.counter(topics + "messagesin_total", all, help: "Messages appended as leader (MessagesInPerSec).")
        bytesIn = registry.counter(topics + "bytesin_total", all, help: "Bytes appended as leader from clients (BytesInPerSec).")
        bytesOut = registry.counter(topics + "bytesout_total", all, help: "Bytes of records sent to consumers (BytesOutPerSec).")
        totalProduceRequests = registry.counter(topics + "totalproducerequests_total", all)
        failedProduceRequests = registry.counter(topics + "failedproducerequests_total", all)
        totalFetchRequests = registry.counter(topics + "totalfetchrequests_total", all)
        failedFetchRequests = registry.counter(topics + "failedfetchrequests_total", all)
        isrShrinks = registry.counter("kafka_server_replicamanager_isrshrinks_total")
        isrExpands = registry.counter("kafka_server_replicamanager_isrexpands_total")
        let stats = "kafka_controller_controllerstats_"
        leaderElections = registry.histogram(stats + "leaderelectionrateandtimems", buckets: Self.latencyBuckets,
                                             help: "Leader elections the active controller committed, by the time each decision took.")
        uncleanElections = registry.counter(stats + "uncleanleaderelections_total",
                                            help: "Elections of a leader from outside the ISR (unclean.leader.election.enable).")
        logFlushes = registry.histogram("kafka_log_logflushstats_logflushrateandtimems", buckets: Self.latencyBuckets,
                                        help: "Flushes (fsync) of a partition's log, by their time.")
    }

    /// One topic's BrokerTopicMetrics, made on first use and kept (the hot paths do not look them up by name).
    private struct TopicCounters: Sendable {
        let messagesIn, bytesIn, bytesOut, totalProduceRequests, failedProduceRequests, totalFetchRequests, failedFetchRequests: Counter

        init(_ registry: MetricsRegistry, topic: String) {
            let labels = [("topic", topic)], name = { (metric: String) in "kafka_server_brokertopicmetrics_\(metric)_total" }
            messagesIn = registry.counter(name("messagesin"), labels)
            bytesIn = registry.counter(name("bytesin"), labels)
            bytesOut = registry.counter(name("bytesout"), labels)
            totalProduceRequests = registry.counter(name("totalproducerequests"), labels)
            failedProduceRequests = registry.counter(name("failedproducerequests"), labels)
            totalFetchRequests = registry.counter(name("totalfetchrequests"), labels)
            failedFetchRequests = registry.counter(name("failedfetchrequests"), labels)
        }
    }
    private let topicCounters = NIOLockedValueBox<[String: TopicCounters]>([:])

    private func counters(_ topic: String) -> TopicCounters {
        topicCounters.withLockedValue { known in
            if let counters = known[topic] { return counters }
            let made = TopicCounters(registry, topic: topic)
            known[topic] = made
            return made
        }
    }

    /// One partition's append from a producer: `records` new records (0 for a duplicate batch) of `bytes`.
    func produced(topic: String, records: Int64, bytes: Int, failed: Bool) {
        let perTopic = counters(topic)
        totalProduceRequests.increment()
        perTopic.totalProduceRequests.increment()
        if failed {
            failedProduceRequests.increment()
            perTopic.failedProduceRequests.increment()
            return
        }
        messagesIn.increment(by: records)
        bytesIn.increment(by: Int64(bytes))
        perTopic.messagesIn.increment(by: records)
        perTopic.bytesIn.increment(by: Int64(bytes))
    }

    /// One partition of a consumer's Fetch: `bytes` of records sent.
    func fetched(topic: String, bytes: Int, failed: Bool) {
        let perTopic = counters(topic)
        totalFetchRequests.increment()
        perTopic.totalFetchRequests.increment()
        if failed {
            failedFetchRequests.increment()
            perTopic.failedFetchRequests.increment()
            return
        }
        bytesOut.increment(by: Int64(bytes))
        perTopic.bytesOut.increment(by: Int64(bytes))
    }

    func isrChanged(shrunk: Bool) { (shrunk ? isrShrinks : isrExpands).increment() }

    /// A batch the active controller decided is committed: its leader elections count.
    func controllerCommitted(_ records: [any KafkaMetadataRecord], before: MetadataImage, tookMs: Double) {
        let elections = LeaderElections(records, decidedOn: before)
        for _ in 0..<elections.total { leaderElections.record(tookMs) }
        if elections.unclean > 0 { uncleanElections.increment(by: Int64(elections.unclean)) }
    }

    func logFlushed(milliseconds: Double) { logFlushes.record(milliseconds) }

    /// Where one request's time went, as Kafka's RequestMetrics split it (milliseconds).
    struct RequestTimes {
        var requestQueue: Double
        var local: Double
        var remote: Double
        var responseSend: Double
        var total: Double { requestQueue + local + remote + responseSend }
    }

    /// One API version's RequestMetrics series, made on first use and kept, so a request pays for a dictionary
    /// lookup rather than for building its name and a registry lookup under swift-prometheus' lock.
    private struct RequestSeries: Sendable {
        let total, requestQueue, local, remote, responseQueue, responseSend: ValueHistogram
        let count: Counter

        init(_ registry: MetricsRegistry, request: String, version: Int16) {
            let labels = [("request", request)]
            let make = { (metric: String) in
                registry.histogram("kafka_network_requestmetrics_\(metric)", labels, buckets: BrokerMetrics.latencyBuckets)
            }
            total = make("totaltimems"); requestQueue = make("requestqueuetimems"); local = make("localtimems")
            remote = make("remotetimems"); responseQueue = make("responsequeuetimems"); responseSend = make("responsesendtimems")
            count = registry.counter("kafka_network_requestmetrics_requests_total", [("request", request), ("version", String(version))])
        }
    }
    private struct SeriesKey: Hashable {
        var api: Int16
        var version: Int16
        var name: String?
    }
    private let requestSeries = NIOLockedValueBox<[SeriesKey: RequestSeries]>([:])

    /// One request's times. `name` is the request's own name where Kafka's differs from its API's (FetchConsumer,
    /// FetchFollower).
    func request(_ api: ApiKey, version: Int16, name: String? = nil, _ times: RequestTimes) {
        let key = SeriesKey(api: api.rawValue, version: version, name: name)
        let series = requestSeries.withLockedValue { known in
            if let made = known[key] { return made }
            let made = RequestSeries(registry, request: name ?? Self.requestName(api), version: version)
            known[key] = made
            return made
        }
        series.count.increment()
        series.total.record(times.total)
        series.requestQueue.record(times.requestQueue)
        series.local.record(times.local)
        series.remote.record(times.remote)
        series.responseQueue.record(0.0)
        series.responseSend.record(times.responseSend)
    }

    /// Kafka's name for an API (`Produce`, `ListOffsets`, `ApiVersions`).
    static func requestName(_ api: ApiKey) -> String {
        let text = "\(api)"
        return text.prefix(1).uppercased() + text.dropFirst()
    }
}
