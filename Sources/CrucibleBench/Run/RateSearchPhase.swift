import CrucibleWorkload
import Foundation

/// `producerRate: 0`: drives the pure `RateSearch` with real windows of the fleet's counters.
struct RateSearchPhase {
    /// What the search usually takes here, for the ETA (it is bounded by its window limit).
    static let expectedSeconds = 100.0

    struct Outcome: Sendable {
        var rate: Double
        var trace: RateSearch.Trace
    }

    let fleet: Fleet
    let progress: BenchProgress
    let label: String

    func run() throws -> Outcome {
        var search = RateSearch(startRate: 10_000, windowSeconds: 2, maxWindows: 24,
                                subscriptions: fleet.consumers.isEmpty ? 0 : fleet.subscriptionsPerTopic)
        var step = search.start()
        while true {
            switch step {
            case .settled(let rate, let trace):
                guard rate > 0 else { throw BenchFailure("the maximum-rate search found no sustainable rate (\(trace.outcome?.rawValue ?? "?"))") }
                return Outcome(rate: rate, trace: trace)
            case .probe(let rate, let seconds):
                if search.drainBeforeProbe { drain() }
                fleet.setRate(rate)
                Thread.sleep(forTimeInterval: search.leadInSeconds)
                _ = fleet.collect()  // the lead-in is not part of the window the progress line reports
                let before = fleet.totals
                let started = Date()
                Thread.sleep(forTimeInterval: seconds)
                let after = fleet.totals
                let elapsed = Date().timeIntervalSince(started)
                let (produced, consumed) = fleet.collect()
                progress.period(label: label, phase: "rate search \(Int(rate)) msg/s", elapsed: elapsed, length: seconds,
                                producer: produced, consumer: consumed, seconds: elapsed, backlog: fleet.backlog(after))
                step = search.observe(RateSearch.Window(
                    targetRate: rate, seconds: elapsed, sent: after.sent - before.sent,
                    acknowledged: after.acknowledged - before.acknowledged, consumed: after.received - before.received,
                    outstandingAtEnd: fleet.outstanding(after), backlogAtEnd: fleet.backlog(after),
                    backlogAtStart: fleet.backlog(before), outstandingAtStart: fleet.outstanding(before),
                    errors: after.failed - before.failed))
            }
        }
    }

    /// Stops sending until the producers' queues and the consumers' backlog are (nearly) empty, for at most 30 s.
    private func drain() {
        fleet.setRate(0)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let totals = fleet.totals
            if fleet.outstanding(totals) < 100 && fleet.backlog(totals) < 1_000 { break }
            usleep(50_000)
        }
        _ = fleet.collect()
    }
}
