import CrucibleWorkload
import Foundation
import Histogram

/// Statistics periods: every `periodSeconds` the clients' periods are merged into one row of OMB's series, an
/// interval of the HdrHistogram logs and a progress line; the test phase's periods also add up to the aggregates.
final class Measurement {
    let fleet: Fleet
    let progress: BenchProgress
    let label: String
    let periodSeconds: Double
    private(set) var periods: [Period] = []
    private(set) var aggregate = ProducerPeriod()
    private(set) var aggregateConsumed = ConsumerPeriod()
    /// Errors by code over the whole run, warm-up and search included.
    private(set) var errorsByCode: [String: Int] = [:]
    let logStart = Date()
    private(set) var publishLog: HistogramLogWriter
    private(set) var endToEndLog: HistogramLogWriter

    struct Period {
        var seconds: Double
        var publishRate: Double
        var publishErrorRate: Double
        var consumeRate: Double
        var backlog: Int
        var publishMBps: Double
        var consumeMBps: Double
    }

    private var testResult: TestResult

    init(fleet: Fleet, progress: BenchProgress, label: String, periodSeconds: Double, workload: Workload, driver: Driver) {
        testResult = TestResult(workload: workload.name, driver: driver.name, messageSize: workload.messageSize,
                                topics: workload.topics, partitions: workload.partitionsPerTopic,
                                producersPerTopic: workload.producersPerTopic,
                                consumersPerTopic: workload.consumerPerSubscription)
        self.fleet = fleet
        self.progress = progress
        self.label = label
        self.periodSeconds = periodSeconds
        publishLog = HistogramLogWriter(startTime: logStart)
        endToEndLog = HistogramLogWriter(startTime: logStart)
    }

    /// Runs one phase for `seconds` (at least one period, shortened to the phase when the phase is shorter),
    /// then keeps going while `more` says the phase is not done (a backlog still draining).
    func run(phase: String, seconds: Double, record: Bool, more: () -> Bool = { true }) {
        let start = Date()
        let end = start.addingTimeInterval(seconds)
        let period = min(periodSeconds, max(seconds, 0.5))
        var periodStart = start
        // A phase that must go on (draining) gets at most as long again as it was given, or a minute.
        let hardEnd = end.addingTimeInterval(max(seconds, 60))
        while true {
            let periodEnd = min(periodStart.addingTimeInterval(period), hardEnd)
            Thread.sleep(until: periodEnd)
            let now = Date()
            close(phase: phase, from: periodStart, to: now, record: record, elapsed: now.timeIntervalSince(start), length: seconds)
            periodStart = now
            if now >= end && (more() || now >= hardEnd) { break }
            if now >= end { progress.extendRun(to: now.addingTimeInterval(period)) }
        }
    }

    private func close(phase: String, from: Date, to: Date, record: Bool, elapsed: Double, length: Double) {
        let (produced, consumed) = fleet.collect()
        let seconds = max(to.timeIntervalSince(from), 0.001)
        let backlog = fleet.backlog(fleet.totals)
        errorsByCode.merge(produced.errorsByCode, uniquingKeysWith: +)
        progress.period(label: label, phase: phase, elapsed: elapsed, length: length, producer: produced, consumer: consumed,
                        seconds: seconds, backlog: backlog)
        guard record else { return }
        periods.append(Period(seconds: seconds, publishRate: produced.acknowledged.perSecond(seconds),
                              publishErrorRate: produced.errors.perSecond(seconds),
                              consumeRate: consumed.received.perSecond(seconds), backlog: backlog,
                              publishMBps: Double(produced.acknowledgedBytes) / seconds / 1_048_576,
                              consumeMBps: Double(consumed.receivedBytes) / seconds / 1_048_576))
        testResult.appendPeriod(publishRate: produced.acknowledged.perSecond(seconds), publishErrorRate: produced.errors.perSecond(seconds),
                                consumeRate: consumed.received.perSecond(seconds), backlog: backlog, publish: produced.publish,
                                publishDelay: produced.publishDelay, endToEnd: consumed.endToEnd)
        aggregate.add(produced)
        aggregateConsumed.add(consumed)
        let offset = from.timeIntervalSince(logStart)
        publishLog.append(tag: "publish", start: offset, length: seconds, histogram: produced.publish)
        publishLog.append(tag: "publish-intended", start: offset, length: seconds, histogram: produced.publishIntended)
        publishLog.append(tag: "publish-delay", start: offset, length: seconds, histogram: produced.publishDelay)
        endToEndLog.append(tag: "end-to-end", start: offset, length: seconds, histogram: consumed.endToEnd)
        endToEndLog.append(tag: "end-to-end-intended", start: offset, length: seconds, histogram: consumed.endToEndIntended)
    }

    /// OMB's TestResult for what was recorded.
    func result() -> TestResult {
        var result = testResult
        result.setAggregates(publish: aggregate.publish, publishDelay: aggregate.publishDelay, endToEnd: aggregateConsumed.endToEnd)
        return result
    }
}

extension Int {
    func perSecond(_ seconds: Double) -> Double { Double(self) / seconds }
}
