import CrucibleRdKafka
import CRdKafka
import CrucibleWorkload
import Foundation
import Histogram
import NIOConcurrencyHelpers

/// One OMB producer: a librdkafka producer on its own thread, sending on an open-loop schedule, with a second
/// thread that only serves delivery reports, so an acknowledgement is timed when it arrives rather than when the
/// sending thread next looks (at 1,000 msg/s that alone added up to a millisecond to every publish latency). Every message has
/// an intended send time fixed by the rate alone (message k of a schedule at origin + k / rate); when the client
/// or the cluster falls behind, messages go late but their intended times stay put, so the delay shows in
/// `publishDelayLatency` and in the intended-time latency instead of disappearing (coordinated omission).
final class BenchProducer: @unchecked Sendable {
    /// The header carrying the intended and actual send times (big-endian microseconds since the epoch, 16 bytes).
    static let timesHeader = "crucible.send.us"
    /// A probe message's header: counted by consumers to know every subscription receives, never measured.
    static let probeHeader = "crucible.probe"
    /// What the times header adds to each record (name and value), counted as bytes handed to the producer.
    static let headerBytes = timesHeader.utf8.count + 16

    let id: Int
    let topic: String
    let stats = StatsBox<ProducerPeriod> { ProducerPeriod() }
    private let handle: OpaquePointer
    private var topicHandle: OpaquePointer?
    /// What librdkafka's callback finds the producer through (the handle's opaque is set before the producer exists).
    private let relay = DeliveryRelay()
    private let timesHeaderName = strdup(BenchProducer.timesHeader)!
    private let probeHeaderName = strdup(BenchProducer.probeHeader)!
    private let payloads: PayloadPool
    private var keys: KeyDistributor
    /// Per in-flight message: intended and actual send times, indexed by the opaque pointer librdkafka hands back.
    /// Raw memory, not an array: the sending thread writes a slot before handing its message over and the
    /// delivery thread reads it after librdkafka reports it, and neither may copy the storage under the other.
    private let slots: UnsafeMutableBufferPointer<(intended: Int64, sent: Int64)>
    private var nextSlot = 0
    private let schedule = NIOLockedValueBox(Schedule(rate: 0, origin: 0, generation: 0))
    private let running = NIOLockedValueBox(true)
    private var thread: Thread?
    private var deliveryThread: Thread?
    private let serving = NIOLockedValueBox(true)
    private let deliveryFinished = NIOLockedValueBox(false)
    /// Acknowledgement times of messages sent after a moment of interest (failover), per partition.
    let watch = NIOLockedValueBox<AckWatch?>(nil)

    struct Schedule { var rate: Double; var origin: Int64; var generation: Int }

    /// Watches one partition from a moment on (a failover): the first acknowledgement of a message sent at or
    /// after `since`, and the intended-time latency of every acknowledgement on the partition meanwhile.
    struct AckWatch {
        var partition: Int32
        var since: Int64
        var firstAck: Int64?
        var spike: Histogram<UInt64>
    }

    init(id: Int, topic: String, bootstrap: String, driver: Driver, payloads: PayloadPool, keys: KeyDistributorKind,
         warnings: inout [String]) throws {
        self.id = id
        self.topic = topic
        self.payloads = payloads
        self.keys = KeyDistributor(keys, seed: UInt64(id) &+ 1)
        let mapped = ClientProperties.map(driver, role: .producer)
        let conf = try RdKafkaConfig.make(mapped.properties, source: "\(driver.name) producerConfig", warnings: &warnings)
        try RdKafkaConfig.set(conf, "bootstrap.servers", bootstrap)
        try RdKafkaConfig.set(conf, "client.id", "crucible-bench-producer-\(id)")
        // In flight at most what librdkafka's queue admits; one slot per queued message, with room to spare.
        var value = [CChar](repeating: 0, count: 64)
        var size = value.count
        var count = 200_001
        if rd_kafka_conf_get(conf, "queue.buffering.max.messages", &value, &size) == RD_KAFKA_CONF_OK {
            count = 2 * max(1_024, Int(rdKafkaText(value)) ?? 100_000) + 1
        }
        slots = .allocate(capacity: count)
        slots.initialize(repeating: (0, 0))
        rd_kafka_conf_set_dr_msg_cb(conf, deliveryReport)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(relay).toOpaque())
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &error, error.count) else {
            rd_kafka_conf_destroy(conf)
            slots.deallocate()
            throw ClientConfigError(description: "librdkafka producer: \(rdKafkaText(error))")
        }
        self.handle = handle
        topicHandle = rd_kafka_topic_new(handle, topic, nil)
        relay.producer = self
    }

    deinit {
        slots.deallocate()
        free(timesHeaderName)
        free(probeHeaderName)
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "bench-producer-\(id)"
        thread.start()
        self.thread = thread
        let delivery = Thread { [self] in
            while serving.withLockedValue({ $0 }) { rd_kafka_poll(handle, 20) }
            deliveryFinished.withLockedValue { $0 = true }
        }
        delivery.name = "bench-delivery-\(id)"
        delivery.start()
        deliveryThread = delivery
    }

    /// Changes the rate from now on; 0 stops sending. The schedule restarts at `now`, so intended times are never
    /// in the past when a new phase begins (a search probe must not inherit the previous one's debt).
    func setRate(_ rate: Double) {
        let now = nowMicros()
        schedule.withLockedValue { $0 = Schedule(rate: rate, origin: now, generation: $0.generation + 1) }
    }

    /// Sends one probe message now (outside the schedule and the statistics).
    func sendProbe() {
        probePending.withLockedValue { $0 += 1 }
    }
    private let probePending = NIOLockedValueBox(0)

    func stop(flushSeconds: Double) {
        setRate(0)
        running.withLockedValue { $0 = false }
        while thread != nil && !finished.withLockedValue({ $0 }) { usleep(5_000) }
        _ = rd_kafka_flush(handle, Int32(flushSeconds * 1_000))
        serving.withLockedValue { $0 = false }
        while deliveryThread != nil && !deliveryFinished.withLockedValue({ $0 }) { usleep(5_000) }
        // Whatever the flush left (a cluster that stopped answering) is dropped, not waited for again by destroy,
        // and its reports served here so the drop is counted (as abandoned, not failed).
        _ = rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
        _ = rd_kafka_poll(handle, 0)
        var reason = [CChar](repeating: 0, count: 1_024)
        let fatal = rd_kafka_fatal_error(handle, &reason, reason.count)
        if fatal != RD_KAFKA_RESP_ERR_NO_ERROR {
            fatalError = "\(String(cString: rd_kafka_err2name(fatal))): \(rdKafkaText(reason))"
        }
        if let topicHandle { rd_kafka_topic_destroy(topicHandle) }
        rd_kafka_destroy(handle)
        relay.producer = nil
    }
    private let finished = NIOLockedValueBox(false)
    /// The fatal error librdkafka raised, if any (an idempotent producer that lost sync with a broker fails
    /// every later send with it): known after `stop`.
    private(set) var fatalError: String?

    /// Messages handed to librdkafka and not yet acknowledged, failed or abandoned.
    var outstanding: Int { let t = stats.snapshot; return t.sent - t.acknowledged - t.failed - t.abandoned }

    private func run() {
        var current = schedule.withLockedValue { $0 }
        var sentInSchedule = 0
        while running.withLockedValue({ $0 }) {
            let latest = schedule.withLockedValue { $0 }
            if latest.generation != current.generation { current = latest; sentInSchedule = 0 }
            if probePending.withLockedValue({ let n = $0; $0 = 0; return n }) > 0 { send(intended: nowMicros(), probe: true) }
            guard current.rate > 0 else {
                usleep(10_000)
                continue
            }
            let intended = current.origin + Int64(Double(sentInSchedule) * 1_000_000 / current.rate)
            let now = nowMicros()
            if intended > now {
                sleep(untilMicros: min(intended, now + 10_000))
                continue
            }
            send(intended: intended, probe: false)
            sentInSchedule += 1
        }
        finished.withLockedValue { $0 = true }
    }

    /// Hands one message to librdkafka, waiting while its queue is full (the delivery thread drains it); the time
    /// it finally goes in is the actual send time.
    private func send(intended: Int64, probe: Bool) {
        let n = nextSlot
        let payload = payloads.payload(n)
        let key = probe ? nil : keys.nextKey()
        let slot = n % slots.count
        nextSlot += 1
        while true {
            let sent = nowMicros()
            slots[slot] = (probe ? -1 : intended, sent)
            var times = (intended.bigEndian, sent.bigEndian)
            let error = withUnsafeBytes(of: &times) { header in
                produce(value: payload, key: key, header: header, probe: probe, slot: slot)
            }
            guard let error else {
                stats.record { period, totals in
                    totals.sent += 1
                    if !probe {
                        period.sent += 1
                        period.sentBytes += payload.count
                        period.publishDelay.recordClamped(sent - intended)
                    }
                }
                return
            }
            let code = rd_kafka_error_code(error)
            rd_kafka_error_destroy(error)
            if code == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                // Stopping: the message was never handed over. Waiting on would outlast the run by the whole
                // message timeout, the queue draining only as its oldest messages expire.
                guard running.withLockedValue({ $0 }) else { return }
                // A millisecond, not less: a hundred producers polling a full queue every 200 µs took the CPU
                // librdkafka needed to empty it. The wait still counts, in the send time.
                usleep(1_000)
                continue
            }
            stats.record { period, totals in
                let name = String(cString: rd_kafka_err2name(code))
                totals.failed += 1
                totals.failedByCode[name, default: 0] += 1
                period.errors += 1
                period.errorsByCode[name, default: 0] += 1
            }
            return
        }
    }

    private func produce(value: [UInt8], key: [UInt8]?, header: UnsafeRawBufferPointer, probe: Bool, slot: Int) -> OpaquePointer? {
        withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 6) { parts in
            for i in 0..<6 { parts[i] = rd_kafka_vu_t() }
            parts[0].vtype = RD_KAFKA_VTYPE_RKT
            parts[0].u.rkt = topicHandle
            parts[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS
            parts[1].u.i = 0  // neither copied nor freed: payloads and keys outlive the producer's messages
            parts[2].vtype = RD_KAFKA_VTYPE_OPAQUE
            parts[2].u.ptr = UnsafeMutableRawPointer(bitPattern: slot + 1)
            parts[3].vtype = RD_KAFKA_VTYPE_HEADER
            parts[3].u.header.name = UnsafePointer(probe ? probeHeaderName : timesHeaderName)
            parts[3].u.header.val = header.baseAddress
            parts[3].u.header.size = header.count
            return value.withUnsafeBytes { valueBytes in
                parts[4].vtype = RD_KAFKA_VTYPE_VALUE
                parts[4].u.mem.ptr = UnsafeMutableRawPointer(mutating: valueBytes.baseAddress)
                parts[4].u.mem.size = valueBytes.count
                guard let key else { return rd_kafka_produceva(handle, parts.baseAddress, 5) }
                return key.withUnsafeBytes { keyBytes in
                    parts[5].vtype = RD_KAFKA_VTYPE_KEY
                    parts[5].u.mem.ptr = UnsafeMutableRawPointer(mutating: keyBytes.baseAddress)
                    parts[5].u.mem.size = keyBytes.count
                    return rd_kafka_produceva(handle, parts.baseAddress, 6)
                }
            }
        }
    }

    /// Called by librdkafka on this producer's delivery thread, inside `rd_kafka_poll`.
    fileprivate func delivered(_ message: UnsafePointer<rd_kafka_message_t>) {
        let now = nowMicros()
        let slot = Int(bitPattern: message.pointee._private) - 1
        guard slot >= 0 && slot < slots.count else { return }
        let (intended, sent) = slots[slot]
        let error = message.pointee.err
        let length = message.pointee.len
        let keyLength = message.pointee.key_len
        stats.record { period, totals in
            if error == RD_KAFKA_RESP_ERR__PURGE_QUEUE || error == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT {
                totals.abandoned += 1  // still unanswered when the run ended: neither refused nor lost
                return
            }
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                let name = String(cString: rd_kafka_err2name(error))
                totals.failed += 1
                totals.failedByCode[name, default: 0] += 1
                period.errors += 1
                period.errorsByCode[name, default: 0] += 1
                return
            }
            totals.acknowledged += 1
            totals.handedBytes += length + keyLength + Self.headerBytes
            guard intended >= 0 else { return }  // a probe
            period.acknowledged += 1
            period.acknowledgedBytes += length
            period.publish.recordClamped(now - sent)
            period.publishIntended.recordClamped(now - intended)
        }
        if error == RD_KAFKA_RESP_ERR_NO_ERROR && intended >= 0 {
            let partition = message.pointee.partition
            watch.withLockedValue { watch in
                guard watch != nil, watch!.partition == partition else { return }
                watch!.spike.recordClamped(now - intended)
                if watch!.firstAck == nil && sent >= watch!.since { watch!.firstAck = now }
            }
        }
    }
}

/// librdkafka's delivery-report callback: finds the producer through the handle's opaque.
private let deliveryReport: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
    _, message, opaque in
    guard let message, let opaque else { return }
    Unmanaged<DeliveryRelay>.fromOpaque(opaque).takeUnretainedValue().producer?.delivered(message)
}

private final class DeliveryRelay {
    var producer: BenchProducer?
}
