import CrucibleController
import CrucibleMetrics
import CrucibleProtocol
import NIOConcurrencyHelpers
import Prometheus

/// A node's metrics under the names Kafka's Prometheus JMX exporter gives Kafka's MBeans with its example Kafka
/// configuration (`kafka_<domain>_<type>_<name>`, lowercased; a meter's count with `_total`; the MBean's keys,
/// `topic`, `partition`, `request`, as labels), so dashboards and alerts written for Kafka read them unchanged.
/// Counters move where things happen; gauges of state are computed at each scrape from the partitions and the
/// metadata quorum. Fetch is one `request="Fetch"` here (Kafka splits FetchConsumer and FetchFollower).
final class BrokerMetrics: Sendable {
    let registry: MetricsRegistry
    private let messagesIn, bytesIn, bytesOut, totalProduceRequests, failedProduceRequests: Counter
    private let totalFetchRequests, failedFetchRequests, isrShrinks, isrExpands: Counter

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

        init(_ registry: MetricsRegistry, api: ApiKey, version: Int16) {
            let request = BrokerMetrics.requestName(api)
            let labels = [("request", request)]
            let make = { (metric: String) in
                registry.histogram("kafka_network_requestmetrics_\(metric)", labels, buckets: BrokerMetrics.latencyBuckets)
            }
            total = make("totaltimems"); requestQueue = make("requestqueuetimems"); local = make("localtimems")
            remote = make("remotetimems"); responseQueue = make("responsequeuetimems"); responseSend = make("responsesendtimems")
            count = registry.counter("kafka_network_requestmetrics_requests_total", [("request", request), ("version", String(version))])
        }
    }
    private let requestSeries = NIOLockedValueBox<[Int32: RequestSeries]>([:])

    func request(_ api: ApiKey, version: Int16, _ times: RequestTimes) {
        let key = Int32(api.rawValue) << 16 | Int32(UInt16(bitPattern: version))
        let series = requestSeries.withLockedValue { known in
            if let made = known[key] { return made }
            let made = RequestSeries(registry, api: api, version: version)
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

    /// The gauges of state, set at each scrape.
    func collectState(replicas: ReplicaManager, controller: QuorumController) {
        registry.onScrape { metrics in
            var partitions = 0, leaders = 0, underReplicated = 0, underMinIsr = 0
            for partition in replicas.allPartitions {
                let image = partition.image
                partitions += 1
                let labels = [("topic", partition.topic), ("partition", String(partition.index))]
                metrics.gauge("kafka_log_log_size", labels).set(Double(partition.log.sizeBytes))
                metrics.gauge("kafka_log_log_logendoffset", labels).set(Double(partition.log.logEndOffset))
                guard partition.isLeader else { continue }
                leaders += 1
                if image.isr.count < image.replicas.count { underReplicated += 1 }
                if Int32(image.isr.count) < partition.minInsyncReplicas { underMinIsr += 1 }
            }
            let manager = "kafka_server_replicamanager_"
            metrics.gauge(manager + "partitioncount").set(Double(partitions))
            metrics.gauge(manager + "leadercount").set(Double(leaders))
            metrics.gauge(manager + "underreplicatedpartitions", help: "Partitions led here with fewer in-sync replicas than replicas.")
                .set(Double(underReplicated))
            metrics.gauge(manager + "underminisrpartitioncount").set(Double(underMinIsr))

            // The controller's gauges: counted by the active controller only, 0 elsewhere, as in Kafka.
            let active = controller.isActive
            let image = controller.currentImage
            var offline = 0, total = 0
            if active {
                for topic in image.topicsByName.values {
                    total += topic.partitions.count
                    offline += topic.partitions.values.filter { $0.leader < 0 }.count
                }
            }
            let kafkaController = "kafka_controller_kafkacontroller_"
            metrics.gauge(kafkaController + "activecontrollercount", help: "1 on the active controller, 0 elsewhere.").set(active ? 1.0 : 0.0)
            metrics.gauge(kafkaController + "offlinepartitionscount").set(Double(offline))
            metrics.gauge(kafkaController + "globalpartitioncount").set(Double(total))
            metrics.gauge(kafkaController + "globaltopiccount").set(active ? Double(image.topicsByName.count) : 0.0)

            // The metadata quorum (Kafka's raft-metrics).
            let raft = "kafka_server_raft_metrics_"
            metrics.gauge(raft + "current_leader").set(Double(controller.quorum.leaderId ?? -1))
            metrics.gauge(raft + "current_epoch").set(Double(controller.quorum.epoch))
            metrics.gauge(raft + "high_watermark").set(Double(image.appliedOffset + 1))
        }
    }
}
