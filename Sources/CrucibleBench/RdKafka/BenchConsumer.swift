import CrucibleRdKafka
import CRdKafka
import CrucibleWorkload
import Foundation
import NIOConcurrencyHelpers

/// One OMB consumer: a librdkafka consumer in its subscription's group, on its own thread, recording end-to-end
/// latency from the send times in each record's header. It can be paused (to build a backlog) without leaving
/// its group: it keeps polling with its assignment paused.
final class BenchConsumer: @unchecked Sendable {
    let id: Int
    let subscription: String
    let stats = StatsBox<ConsumerPeriod> { ConsumerPeriod() }
    private let handle: OpaquePointer
    private let autoCommit: Bool
    private let running = NIOLockedValueBox(true)
    private let paused = NIOLockedValueBox(false)
    private let finished = NIOLockedValueBox(false)
    let probesReceived = NIOLockedValueBox(0)
    private var thread: Thread?
    private let timesHeaderName = strdup(BenchProducer.timesHeader)!
    private let probeHeaderName = strdup(BenchProducer.probeHeader)!

    init(id: Int, group: String, topics: [String], bootstrap: String, driver: Driver, warnings: inout [String]) throws {
        self.id = id
        subscription = group
        let mapped = ClientProperties.map(driver, role: .consumer)
        autoCommit = mapped.properties.last { $0.key == "enable.auto.commit" }?.value != "false"
        let conf = try RdKafkaConfig.make(mapped.properties, source: "\(driver.name) consumerConfig", warnings: &warnings)
        try RdKafkaConfig.set(conf, "bootstrap.servers", bootstrap)
        try RdKafkaConfig.set(conf, "group.id", group)
        try RdKafkaConfig.set(conf, "client.id", "crucible-bench-consumer-\(id)")
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &error, error.count) else {
            rd_kafka_conf_destroy(conf)
            throw ClientConfigError(description: "librdkafka consumer: \(rdKafkaText(error))")
        }
        self.handle = handle
        rd_kafka_poll_set_consumer(handle)
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
        let subscribed = rd_kafka_subscribe(handle, list)
        rd_kafka_topic_partition_list_destroy(list)
        guard subscribed == RD_KAFKA_RESP_ERR_NO_ERROR else {
            rd_kafka_destroy(handle)
            throw ClientConfigError(description: "librdkafka subscribe: \(String(cString: rd_kafka_err2str(subscribed)))")
        }
    }

    deinit {
        free(timesHeaderName)
        free(probeHeaderName)
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "bench-consumer-\(id)"
        thread.start()
        self.thread = thread
    }

    func setPaused(_ pause: Bool) { paused.withLockedValue { $0 = pause } }

    func stop() {
        running.withLockedValue { $0 = false }
        while thread != nil && !finished.withLockedValue({ $0 }) { usleep(5_000) }
        rd_kafka_consumer_close(handle)
        rd_kafka_destroy(handle)
    }

    private func run() {
        var lastCommit = nowMicros()
        var lastPauseCheck: Int64 = 0
        var pausedNow = false
        while running.withLockedValue({ $0 }) {
            let wantPaused = paused.withLockedValue { $0 }
            let now = nowMicros()
            // A rebalance can hand a paused consumer new partitions: pause whatever is assigned, twice a second.
            if wantPaused != pausedNow || (wantPaused && now - lastPauseCheck > 500_000) {
                setAssignmentPaused(wantPaused)
                pausedNow = wantPaused
                lastPauseCheck = now
            }
            if let message = rd_kafka_consumer_poll(handle, 100) {
                received(message)
                rd_kafka_message_destroy(message)
            }
            if !autoCommit && now - lastCommit > 1_000_000 {
                // OMB's consumer commits as it goes when auto-commit is off; asynchronously, as it does.
                _ = rd_kafka_commit(handle, nil, 1)
                lastCommit = now
            }
        }
        finished.withLockedValue { $0 = true }
    }

    private func setAssignmentPaused(_ pause: Bool) {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return }
        if pause { rd_kafka_pause_partitions(handle, list) } else { rd_kafka_resume_partitions(handle, list) }
        rd_kafka_topic_partition_list_destroy(list)
    }

    private func received(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        let now = nowMicros()
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return }
        var value: UnsafeRawPointer?
        var size = 0
        if rd_kafka_header_get_last(headers, probeHeaderName, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            probesReceived.withLockedValue { $0 += 1 }
            stats.record { _, totals in totals.received += 1 }
            return
        }
        guard rd_kafka_header_get_last(headers, timesHeaderName, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR,
              let value, size == 16 else { return }
        let intended = Int64(bigEndian: value.loadUnaligned(as: Int64.self))
        let sent = Int64(bigEndian: value.loadUnaligned(fromByteOffset: 8, as: Int64.self))
        let bytes = message.pointee.len
        stats.record { period, totals in
            totals.received += 1
            period.received += 1
            period.receivedBytes += bytes
            period.endToEnd.recordClamped(now - sent)
            period.endToEndIntended.recordClamped(now - intended)
        }
    }
}
