import CrucibleWorkload
import Histogram
import NIOConcurrencyHelpers

/// What one period of a producer recorded. Latencies in microseconds.
struct ProducerPeriod {
    /// From the actual send to the acknowledgement (OMB's `publishLatency`).
    var publish = LatencyHistograms.publish()
    /// From the intended send time to the acknowledgement: what a user of an open system waits, stalls included.
    var publishIntended = LatencyHistograms.publish()
    /// Actual send minus intended send (OMB's `publishDelayLatency`).
    var publishDelay = LatencyHistograms.publish()
    var sent = 0
    var sentBytes = 0
    var acknowledged = 0
    var acknowledgedBytes = 0
    var errors = 0
    var errorsByCode: [String: Int] = [:]

    mutating func add(_ other: ProducerPeriod) {
        publish.add(other.publish)
        publishIntended.add(other.publishIntended)
        publishDelay.add(other.publishDelay)
        sent += other.sent
        sentBytes += other.sentBytes
        acknowledged += other.acknowledged
        acknowledgedBytes += other.acknowledgedBytes
        errors += other.errors
        errorsByCode.merge(other.errorsByCode, uniquingKeysWith: +)
    }
}

/// What one period of a consumer recorded.
struct ConsumerPeriod {
    /// From the send time in the record's header to receipt (OMB's `endToEndLatency`, at microsecond precision).
    var endToEnd = LatencyHistograms.endToEnd()
    /// From the intended send time to receipt.
    var endToEndIntended = LatencyHistograms.endToEnd()
    var received = 0
    var receivedBytes = 0

    mutating func add(_ other: ConsumerPeriod) {
        endToEnd.add(other.endToEnd)
        endToEndIntended.add(other.endToEndIntended)
        received += other.received
        receivedBytes += other.receivedBytes
    }
}

/// Running totals that never reset (backlog, rate search, compression): messages and bytes.
struct Totals {
    var sent = 0
    var acknowledged = 0
    var failed = 0
    var failedByCode: [String: Int] = [:]
    /// Purged when the producer stopped: still queued or in flight after the final flush.
    var abandoned = 0
    /// Key, value and header bytes handed to librdkafka of the messages it acknowledged, probes and warm-up
    /// included: the numerator of the compression ratio. Counted on acknowledgement, not on hand-over, so that
    /// messages still queued when a producer is torn down (never written) do not inflate the ratio.
    var handedBytes = 0
    var received = 0
}

/// One client's current period and totals behind a lock: the client's thread records, the collector swaps.
final class StatsBox<Period>: @unchecked Sendable {
    private let lock = NIOLock()
    private var period: Period
    private var totals = Totals()
    private let fresh: () -> Period

    init(_ fresh: @escaping () -> Period) {
        self.fresh = fresh
        period = fresh()
    }

    @inline(__always) func record(_ body: (inout Period, inout Totals) -> Void) {
        lock.withLock { body(&period, &totals) }
    }

    /// The period so far, replaced by an empty one.
    func swap() -> Period {
        let next = fresh()
        return lock.withLock {
            let finished = period
            period = next
            return finished
        }
    }

    var snapshot: Totals { lock.withLock { totals } }
}
