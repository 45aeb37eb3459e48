import CRdKafka
import CrucibleRdKafka
import CrucibleWorkload
import Foundation
import NIOConcurrencyHelpers

/// What a send came to, with Jepsen's meanings: `ok` with the offset the broker assigned; `fail` only when
/// librdkafka knows the message was never persisted; `info` for anything else (a timeout, a lost connection, an
/// error after the append): the write may or may not have happened.
enum SendOutcome: Equatable {
    case ok(offset: Int64)
    case fail(String)
    case info(String)
}

/// One client process of the queue workload: a librdkafka producer that sends one message at a time and waits for
/// its delivery report, and a librdkafka consumer that either assigns itself every key's partition from the
/// beginning or subscribes with the run's one group. Keys are partitions; values are decimal text.
final class QueueClient {
    let producer: OpaquePointer
    private let topicHandle: OpaquePointer
    let consumer: OpaquePointer
    private let reports = DeliveryReports()
    private let rebalances = RebalanceLog()
    let topic: String
    let subscribed: Bool

    /// With `transactionalId`, the producer is transactional (initialised here, which fences an earlier process
    /// with the same id) and the consumer reads committed data only.
    init(process: Int, bootstrap: String, topic: String, keys: Int, scenario: Scenario, group: String,
         subscribe: Bool, transactionalId: String? = nil) throws {
        self.topic = topic
        subscribed = subscribe
        var warnings: [String] = []
        // Short timeouts by default, as Jepsen's clients have: an operation stuck behind a fault ends as `info`
        // within seconds instead of holding its process for librdkafka's default five minutes.
        var producerDefaults = [Driver.Property("message.timeout.ms", "10000"), Driver.Property("request.timeout.ms", "5000"),
                                Driver.Property("linger.ms", "0")]
        // A transaction a dead process left open holds back every read_committed reader until the coordinator
        // aborts it: ten seconds, not librdkafka's minute.
        if let transactionalId {
            producerDefaults += [Driver.Property("transactional.id", transactionalId), Driver.Property("transaction.timeout.ms", "10000")]
        }
        let producerConf = try RdKafkaConfig.make(producerDefaults + scenario.clientProperties(.producer),
                                                  source: "\(scenario.file) producerConfig", warnings: &warnings)
        try RdKafkaConfig.set(producerConf, "bootstrap.servers", bootstrap)
        try RdKafkaConfig.set(producerConf, "client.id", "crucible-verify-\(process)")
        rd_kafka_conf_set_log_cb(producerConf, logToRunFile)
        rd_kafka_conf_set_dr_msg_cb(producerConf, recordDelivery)
        rd_kafka_conf_set_opaque(producerConf, Unmanaged.passUnretained(reports).toOpaque())
        var error = [CChar](repeating: 0, count: 512)
        guard let producer = rd_kafka_new(RD_KAFKA_PRODUCER, producerConf, &error, error.count) else {
            rd_kafka_conf_destroy(producerConf)
            throw VerifyFailure("librdkafka producer: \(rdKafkaText(error))")
        }
        self.producer = producer
        if transactionalId != nil, let failure = rd_kafka_init_transactions(producer, 15_000) {
            let text = String(cString: rd_kafka_error_string(failure))
            rd_kafka_error_destroy(failure)
            rd_kafka_destroy(producer)
            throw VerifyFailure("librdkafka init_transactions: \(text)")
        }
        topicHandle = rd_kafka_topic_new(producer, topic, nil)

        // A transactional client's offsets go with its transactions, never on their own.
        let consumerDefaults = [Driver.Property("auto.offset.reset", "earliest"), Driver.Property("session.timeout.ms", "6000"),
                                Driver.Property("enable.auto.commit", subscribe && transactionalId == nil ? "true" : "false"),
                                Driver.Property("isolation.level", "read_committed")]
        let consumerConf = try RdKafkaConfig.make(consumerDefaults + scenario.clientProperties(.consumer),
                                                  source: "\(scenario.file) consumerConfig", warnings: &warnings)
        try RdKafkaConfig.set(consumerConf, "bootstrap.servers", bootstrap)
        try RdKafkaConfig.set(consumerConf, "client.id", "crucible-verify-\(process)")
        try RdKafkaConfig.set(consumerConf, "group.id", group)
        rd_kafka_conf_set_log_cb(consumerConf, logToRunFile)
        if subscribe {
            rd_kafka_conf_set_rebalance_cb(consumerConf, noteRebalance)
            rd_kafka_conf_set_opaque(consumerConf, Unmanaged.passUnretained(rebalances).toOpaque())
        }
        guard let consumer = rd_kafka_new(RD_KAFKA_CONSUMER, consumerConf, &error, error.count) else {
            rd_kafka_conf_destroy(consumerConf)
            rd_kafka_topic_destroy(topicHandle)
            rd_kafka_destroy(producer)
            throw VerifyFailure("librdkafka consumer: \(rdKafkaText(error))")
        }
        self.consumer = consumer
        rd_kafka_poll_set_consumer(consumer)
        let list = rd_kafka_topic_partition_list_new(Int32(keys))
        let result: rd_kafka_resp_err_t
        if subscribe {
            rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
            result = rd_kafka_subscribe(consumer, list)
        } else {
            for key in 0..<keys {
                rd_kafka_topic_partition_list_add(list, topic, Int32(key)).pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
            }
            result = rd_kafka_assign(consumer, list)
        }
        rd_kafka_topic_partition_list_destroy(list)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            close()
            throw VerifyFailure("librdkafka \(subscribe ? "subscribe" : "assign"): \(String(cString: rd_kafka_err2str(result)))")
        }
    }

    /// Sends `value` to `key`'s partition and waits for the delivery report.
    func send(key: Int, value: Int) -> SendOutcome {
        var text = Array(String(value).utf8)
        var keyText = Array(String(key).utf8)
        reports.expect()
        let produced = rd_kafka_produce(topicHandle, Int32(key), RD_KAFKA_MSG_F_COPY, &text, text.count, &keyText,
                                        keyText.count, nil)
        guard produced == 0 else {
            // Refused before it left this process (queue full, unknown partition): certainly not written.
            return .fail(String(cString: rd_kafka_err2name(rd_kafka_last_error())))
        }
        // The delivery report comes within message.timeout.ms; a generous bound beyond it guards against a
        // report that never comes.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            rd_kafka_poll(producer, 50)
            if let outcome = reports.take() { return outcome }
        }
        return .info("no delivery report within 60 s")
    }

    /// What the consumer returns within about `waitMs`: per key, (offset, value) pairs in the order received.
    func poll(waitMs: Int32) -> [Int: [(offset: Int64, value: Int)]] {
        var result: [Int: [(offset: Int64, value: Int)]] = [:]
        var wait = waitMs
        for _ in 0..<500 {
            guard let message = rd_kafka_consumer_poll(consumer, wait) else { break }
            defer { rd_kafka_message_destroy(message) }
            wait = 0
            let record = message.pointee
            guard record.err == RD_KAFKA_RESP_ERR_NO_ERROR, let payload = record.payload else { continue }
            let text = String(decoding: UnsafeRawBufferPointer(start: payload, count: record.len), as: UTF8.self)
            guard let value = Int(text) else { continue }
            result[Int(record.partition), default: []].append((record.offset, value))
        }
        return result
    }

    /// The keys assigned or revoked by rebalances since the last call: Jepsen's `rebalance-log` of the operation
    /// they happened in (a consumer given a partition back starts again from the committed offset).
    func takeRebalancedKeys() -> [Int] { rebalances.take() }

    /// The partition's high watermark as its leader says now, nil when it cannot be asked.
    func highWatermark(key: Int) -> Int64? {
        var low: Int64 = 0, high: Int64 = 0
        let error = rd_kafka_query_watermark_offsets(consumer, topic, Int32(key), &low, &high, 3_000)
        return error == RD_KAFKA_RESP_ERR_NO_ERROR ? high : nil
    }

    /// Tears both clients down without waiting for anything in flight (a crash, as far as the cluster can tell,
    /// except that connections close).
    func close() {
        _ = rd_kafka_purge(producer, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
        rd_kafka_poll(producer, 0)
        rd_kafka_topic_destroy(topicHandle)
        rd_kafka_destroy(producer)
        rd_kafka_consumer_close(consumer)
        rd_kafka_destroy(consumer)
    }
}

/// librdkafka's own log lines (connection refusals and the like, many under a nemesis) go to the run's
/// `clients.log`, not the terminal.
enum ClientLog {
    static let file = NIOLockedValueBox<FileHandle?>(nil)
    static func open(_ path: String) {
        FileManager.default.createFile(atPath: path, contents: nil)
        file.withLockedValue { $0 = FileHandle(forWritingAtPath: path) }
    }
    static func close() { file.withLockedValue { try? $0?.close(); $0 = nil } }
}

private func logToRunFile(_ handle: OpaquePointer?, _ level: Int32, _ facility: UnsafePointer<CChar>?,
                          _ text: UnsafePointer<CChar>?) {
    let line = "\(Date()) \(level) \(facility.map { String(cString: $0) } ?? "") \(text.map { String(cString: $0) } ?? "")\n"
    ClientLog.file.withLockedValue { $0?.write(Data(line.utf8)) }
}

/// Partitions a consumer's rebalances touched, noted from librdkafka's callback (inside the worker's own poll).
private final class RebalanceLog: @unchecked Sendable {
    private let keys = NIOLockedValueBox<Set<Int>>([])
    func note(_ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        guard let list = partitions?.pointee else { return }
        keys.withLockedValue { keys in
            for i in 0..<Int(list.cnt) { keys.insert(Int(list.elems[i].partition)) }
        }
    }
    func take() -> [Int] { keys.withLockedValue { let taken = $0.sorted(); $0 = []; return taken } }
}

/// Notes the partitions, then does what librdkafka would have done without a callback: (incrementally)
/// assign or unassign them.
private func noteRebalance(_ handle: OpaquePointer?, _ error: rd_kafka_resp_err_t,
                           _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, _ opaque: UnsafeMutableRawPointer?) {
    guard let handle else { return }
    if let opaque { Unmanaged<RebalanceLog>.fromOpaque(opaque).takeUnretainedValue().note(partitions) }
    let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
    switch (error, cooperative) {
    case (RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, true):
        if let failure = rd_kafka_incremental_assign(handle, partitions) { rd_kafka_error_destroy(failure) }
    case (RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS, true):
        if let failure = rd_kafka_incremental_unassign(handle, partitions) { rd_kafka_error_destroy(failure) }
    case (RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, false):
        _ = rd_kafka_assign(handle, partitions)
    default:
        _ = rd_kafka_assign(handle, nil)
    }
}

/// The delivery report of the one message in flight, handed from librdkafka's callback to the sending thread
/// (the same thread, inside rd_kafka_poll; the lock keeps it honest if that ever changes).
private final class DeliveryReports: @unchecked Sendable {
    private let outcome = NIOLockedValueBox<SendOutcome?>(nil)
    func expect() { outcome.withLockedValue { $0 = nil } }
    func deliver(_ result: SendOutcome) { outcome.withLockedValue { $0 = result } }
    func take() -> SendOutcome? { outcome.withLockedValue { let taken = $0; $0 = nil; return taken } }
}

private func recordDelivery(_ handle: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?,
                            _ opaque: UnsafeMutableRawPointer?) {
    guard let message, let opaque else { return }
    let reports = Unmanaged<DeliveryReports>.fromOpaque(opaque).takeUnretainedValue()
    let error = message.pointee.err
    if error == RD_KAFKA_RESP_ERR_NO_ERROR {
        reports.deliver(.ok(offset: message.pointee.offset))
        return
    }
    let name = String(cString: rd_kafka_err2name(error))
    // librdkafka tracks whether a failed message may have reached the log; only NOT_PERSISTED is a sure failure.
    let status = rd_kafka_message_status(UnsafeMutablePointer(mutating: message))
    reports.deliver(status == RD_KAFKA_MSG_STATUS_NOT_PERSISTED ? .fail(name) : .info(name))
}

extension QueueClient {
    /// Checks a scenario's client properties against librdkafka before anything starts: an invalid value throws
    /// `ClientConfigError` naming the file and key; unknown keys come back as warnings.
    static func validate(_ scenario: Scenario) throws -> [String] {
        var warnings: [String] = []
        for (role, properties) in [("producerConfig", scenario.clientProperties(.producer)), ("consumerConfig", scenario.clientProperties(.consumer))] {
            rd_kafka_conf_destroy(try RdKafkaConfig.make(properties, source: "\(scenario.file) \(role)", warnings: &warnings))
        }
        _ = try scenario.clientSecurity()
        return warnings
    }
}

public enum VerifyValidation {
    public static func clientWarnings(_ scenario: Scenario) throws -> [String] { try QueueClient.validate(scenario) }
}
