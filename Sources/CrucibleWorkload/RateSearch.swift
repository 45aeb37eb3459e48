/// The maximum sustainable producer rate for `producerRate: 0` workloads, as a pure state machine: the runner
/// asks for a step, runs the probe it names, reports the window, and repeats until `.settled`.
///
/// OMB's search re-adjusts every 3 s from whether the publish and receive backlogs exceed 1,000 messages,
/// doubling or halving a ramping factor. It keeps no memory of what it has learned, its fixed threshold means
/// something different at 100 msg/s and at 1,000,000 msg/s, and one slow window halves the rate; its users see it
/// settle at 1 msg/s, far from the truth, or oscillate. This search keeps a bracket instead: `lo`, the highest
/// rate judged sustainable, and `hi`, the lowest judged unsustainable.
/// 1. Ramp: double from `startRate` while sustainable.
/// 2. Estimate: an overloaded window measures the capacity (its acknowledged and per-subscription consumed
///    rates). Probe at 0.99x that, then `resolution` higher: a good estimate closes the bracket in two probes.
///    This is also how it goes down when the start rate already fails (by 4x when a window delivered nothing).
/// 3. Narrow: from a rate that passed above the estimate, gallop up (steps of `resolution`, squared each time);
///    otherwise bisect at the geometric midpoint, until hi/lo <= `resolution`.
///    An acknowledged rate far below a rate that passed earlier discards the passes above it: a fresh system
///    bursts (page cache) far above what it sustains, and the latest evidence wins.
/// 4. Recheck `hi` once if hiccups may have put it there (a split verdict, or it delivered far less than `lo`),
///    then confirm `lo` over a window twice as long; if that fails, `lo` becomes `hi` and step 3 resumes.
/// Ramp windows last `windowSeconds`, later ones twice that and the confirmation four times (averaging out the
/// swings of a busy machine near capacity). Each rate is judged by the majority of up to three windows, re-run from drained queues; one window decides
/// when it passes or fails decisively (delivering the estimated capacity, far below target), so a hiccup does not
/// cut the bracket. A window's verdict is relative to its volume (rate x seconds), so one tolerance serves 500
/// and 2,000,000 msg/s.
/// Why it converges: every probe but the recheck lies strictly inside the bracket, which therefore only shrinks
/// (a discarded burst lowers `lo`, at most once per rate that passed); at most three estimates are tried, each
/// once, and one more per discarded burst; after that, bisection halves log(hi/lo) with every probe; and
/// `maxWindows` bounds it all. A passing window only proves a throughput of rate x (1 - tolerance) (less a few
/// messages of slack), so that is the rate reported.
public struct RateSearch: Sendable {
    /// `.probe`: send open-loop at `rate` for `leadInSeconds` (not measured, so the queues reach the new rate's
    /// steady state), then measure `seconds`, and report that window. Before it, wait for producer and consumer
    /// queues to drain if `drainBeforeProbe` is set (the previous window was unsustainable).
    public enum Step: Equatable, Sendable {
        case probe(rate: Double, seconds: Double)
        case settled(rate: Double, trace: Trace)
    }

    /// Counts over one measured window. `consumed` and the backlogs are summed over all subscriptions (as OMB's
    /// `consumeRate` and `backlog` are); with `subscriptions: 0` they are ignored.
    public struct Window: Equatable, Sendable {
        public var targetRate, seconds: Double
        public var sent, acknowledged, consumed, outstandingAtEnd, backlogAtEnd, backlogAtStart, outstandingAtStart,
                   errors: Int
        public init(targetRate: Double, seconds: Double, sent: Int, acknowledged: Int, consumed: Int,
                    outstandingAtEnd: Int, backlogAtEnd: Int, backlogAtStart: Int = 0, outstandingAtStart: Int = 0,
                    errors: Int = 0) {
            (self.targetRate, self.seconds, self.sent, self.acknowledged, self.consumed) =
                (targetRate, seconds, sent, acknowledged, consumed)
            (self.outstandingAtEnd, self.backlogAtEnd, self.backlogAtStart, self.outstandingAtStart, self.errors) =
                (outstandingAtEnd, backlogAtEnd, backlogAtStart, outstandingAtStart, errors)
        }
    }

    public enum Phase: String, Codable, Sendable { case ramp, estimate, gallop, bisect, recheck, confirm }
    public enum Outcome: String, Codable, Sendable {
        case converged, maximumRate, windowLimit, noSustainableRate
    }

    /// One measured window as the result JSON shows it. `retry`: the window repeats the rate of the one before.
    public struct Entry: Codable, Equatable, Sendable {
        public var phase: Phase
        public var retry: Bool
        public var rate, seconds, acknowledgedRate: Double
        public var consumedRate: Double?
        public var outstandingGrowth: Int
        public var backlogGrowth: Int?
        public var sustainable: Bool
        public var reason: String
    }

    public struct Trace: Codable, Equatable, Sendable {
        public var windows: [Entry] = []
        public var outcome: Outcome?
        /// The rate settled on, the bracket (`sustainable` = lo, `unsustainable` = hi) and the last capacity
        /// estimate, when it settled.
        public var rate, sustainable, unsustainable, estimate: Double?
    }

    public let startRate, windowSeconds, leadInSeconds, maximumRate, minimumRate: Double
    public let maxWindows, subscriptions: Int
    /// Allowed queue growth and sending shortfall, as a fraction of the window's volume.
    public let tolerance: Double
    /// Bisection stops when hi/lo is at most this.
    public let resolution: Double
    /// Low rates get longer windows so that a window holds at least this many messages.
    public let minimumMessages: Double
    public private(set) var drainBeforeProbe = false
    public private(set) var trace = Trace()

    private var lo, hi, estimate: Double?
    private var passes: [Double: Int] = [:]
    private var failures: [Double] = []
    private var plan: [Double] = []
    private var estimatesLeft = 3
    private var gallop: Double?
    private var hiSplit = false, rechecked = false
    private var current: Probe?
    private var settledStep: Step?

    public init(startRate: Double = 10_000, windowSeconds: Double = 2, maxWindows: Int = 24, subscriptions: Int = 1,
                maximumRate: Double = 50_000_000, minimumRate: Double = 1, leadInSeconds: Double = 1,
                tolerance: Double = 0.02, resolution: Double = 1.05, minimumMessages: Double = 500) {
        precondition(startRate > 0 && windowSeconds > 0 && maxWindows > 0 && subscriptions >= 0)
        precondition(minimumRate > 0 && minimumRate <= startRate && startRate <= maximumRate)
        precondition(tolerance > 0 && tolerance < 0.5 && resolution > 1)
        (self.startRate, self.windowSeconds, self.maxWindows, self.subscriptions) =
            (startRate, windowSeconds, maxWindows, subscriptions)
        (self.maximumRate, self.minimumRate, self.leadInSeconds) = (maximumRate, minimumRate, leadInSeconds)
        (self.tolerance, self.resolution, self.minimumMessages) = (tolerance, resolution, minimumMessages)
    }

    public mutating func start() -> Step {
        if let settledStep { return settledStep }
        if let current { return .probe(rate: current.rate, seconds: current.seconds) }
        return probe(startRate, .ramp)
    }

    public mutating func observe(_ window: Window) -> Step {
        if let settledStep { return settledStep }
        guard var probe = current else { return start() }
        let verdict = judge(window)
        trace.windows.append(Entry(phase: probe.phase, retry: probe.passes + probe.fails > 0, rate: probe.rate,
                                   seconds: window.seconds, acknowledgedRate: verdict.acknowledgedRate,
                                   consumedRate: verdict.consumedRate,
                                   outstandingGrowth: window.outstandingAtEnd - window.outstandingAtStart,
                                   backlogGrowth: subscriptions > 0 ? window.backlogAtEnd - window.backlogAtStart : nil,
                                   sustainable: verdict.reason == nil, reason: verdict.reason ?? "sustainable"))
        drainBeforeProbe = verdict.reason != nil
        if verdict.reason == nil {
            probe.passes += 1
        } else {
            probe.fails += 1
            // The best failing window: a hiccup in another says nothing about capacity.
            probe.delivered = max(probe.delivered, verdict.deliveredRate)
            probe.acknowledged = max(probe.acknowledged, verdict.acknowledgedRate)
        }
        // A rate is judged by the majority of up to three windows, re-run from drained queues. One window
        // settles it when it passes, or when it fails decisively: delivering the capacity already estimated,
        // well below the target (plainly overloaded; a hiccup delivers far less than the estimate).
        let decisive = estimate.map { verdict.deliveredRate >= 0.9 * $0 } ?? false
            && probe.rate > verdict.deliveredRate * (1 + 2 * tolerance)
        let decided = probe.passes + probe.fails == 1 ? verdict.reason == nil || decisive
                                                       : max(probe.passes, probe.fails) >= 2
        if !decided && trace.windows.count < maxWindows {
            current = probe
            return .probe(rate: probe.rate, seconds: probe.seconds)
        }
        if probe.passes > probe.fails { passed(probe) } else { failed(probe) }
        return probe.phase == .confirm && probe.passes > probe.fails ? settle(.converged) : next()
    }

    private mutating func passed(_ probe: Probe) {
        passes[probe.rate, default: 0] += 1
        lo = max(lo ?? 0, probe.rate)
        if let hiNow = hi, probe.rate >= hiNow {
            // A recheck of `hi` passed: hiccups had failed it. The next failure above it stands, if any.
            hi = failures.filter { $0 > probe.rate }.min()
            (plan, gallop) = ([], nil)
            return
        }
        // Passing above the estimate: capacity is probably just above, so search upwards from here in growing
        // steps (each of which, if it fails, closes the bracket at once) rather than from the middle.
        if probe.phase == .gallop { gallop = gallop.map { $0 * $0 } }
        if probe.phase == .estimate && plan.isEmpty { gallop = resolution * 0.999 }
    }

    private mutating func failed(_ probe: Probe) {
        hi = min(hi ?? .infinity, probe.rate)
        failures.append(probe.rate)
        hiSplit = probe.passes > 0
        gallop = nil
        if lo.map({ $0 >= probe.rate }) ?? false { lo = passes.keys.filter { $0 < probe.rate }.max() }
        if let passed = lo, probe.acknowledged * 1.25 < passed {
            // Overloaded, the brokers acknowledged far less than a rate that passed before (a window just over
            // capacity acknowledges close to it; this is a quarter or more below): that pass was a burst they
            // could not keep up (a fresh node's page cache absorbs gigabytes before writeback throttles it), or
            // they have slowed since. The latest evidence wins: the passes above it no longer count, and this
            // capacity gets an estimate of its own. Judged on acknowledgements alone: a consumer that stalls for a
            // few seconds says nothing about what the brokers can take.
            passes = passes.filter { $0.key <= probe.acknowledged }
            lo = passes.keys.max()
            estimatesLeft = max(estimatesLeft, 1)
        }
        estimate = probe.delivered
        if estimatesLeft > 0 {
            estimatesLeft -= 1
            plan = [probe.delivered * 0.99, probe.delivered * 0.99 * resolution * 0.999]
        }
    }

    private mutating func next() -> Step {
        if trace.windows.count >= maxWindows { return settle(lo == nil ? .noSustainableRate : .windowLimit) }
        guard let hi else {
            let lo = lo ?? startRate
            return lo >= maximumRate ? settle(.maximumRate) : probe(min(lo * 2, maximumRate), .ramp)
        }
        let floor = lo ?? 0
        if let planned = plan.firstIndex(where: { $0 > floor * 1.01 && $0 < hi / 1.01 && $0 >= minimumRate }) {
            return probe(plan.remove(at: planned), .estimate)
        }
        plan = []
        guard let lo else {
            // Below everything tried and without a usable estimate (the window delivered nothing, or more than
            // it could sustain): step down geometrically.
            return hi <= minimumRate ? settle(.noSustainableRate) : probe(max(hi / 4, minimumRate), .ramp)
        }
        let middle = (lo * hi).squareRoot()
        if hi / lo > resolution {
            if let gallop, lo * gallop < middle { return probe(lo * gallop, .gallop) }
            return probe(middle, .bisect)
        }
        if passes[lo, default: 0] >= 2 { return settle(.converged) }
        // Before settling just below `hi`, make sure hiccups did not put it there: its verdict was split, or it
        // delivered far less than has since been sustained.
        if !rechecked && (hiSplit || estimate.map { lo > $0 * 1.05 } ?? false) {
            rechecked = true
            return probe(hi, .recheck)
        }
        return probe(lo, .confirm)
    }

    private mutating func probe(_ rate: Double, _ phase: Phase) -> Step {
        var seconds = min(max(windowSeconds, minimumMessages / rate), windowSeconds * 8)
        // Past the ramp, windows judge rates close to capacity, where a busy machine's throughput swings by 10%
        // or more between 2-second windows: twice as long, and the confirmation twice that.
        if phase != .ramp { seconds *= 2 }
        if phase == .confirm { seconds *= 2 }
        current = Probe(rate: rate, seconds: seconds, phase: phase)
        return .probe(rate: rate, seconds: seconds)
    }

    private mutating func settle(_ outcome: Outcome) -> Step {
        let rate: Double
        switch outcome {
        case .maximumRate: rate = maximumRate
        case .noSustainableRate: rate = minimumRate
        // What a passing window proves: the target less the shortfall it was allowed (see `judge`).
        case .converged, .windowLimit:
            rate = max(minimumRate, (lo ?? minimumRate) * (1 - tolerance) - 4 / windowSeconds)
        }
        (trace.outcome, trace.rate, trace.sustainable, trace.unsustainable, trace.estimate) =
            (outcome, rate, lo, hi, estimate)
        current = nil
        let step = Step.settled(rate: rate, trace: trace)
        settledStep = step
        return step
    }

    /// The rate being judged and the windows run at it so far.
    private struct Probe {
        var rate, seconds: Double
        var phase: Phase
        var passes = 0, fails = 0
        var delivered = 0.0, acknowledged = 0.0
    }

    /// `reason` is nil when the window was sustainable, else the first check it failed.
    private func judge(_ w: Window)
        -> (reason: String?, acknowledgedRate: Double, consumedRate: Double?, deliveredRate: Double) {
        let volume = w.targetRate * w.seconds
        // A few messages of slack: at low rates one batch in flight is a sizeable fraction of the volume.
        let slack = tolerance * volume + 4     // `settle` subtracts the same
        let acknowledgedRate = Double(w.acknowledged) / w.seconds
        let consumedRate = subscriptions > 0 ? Double(w.consumed) / w.seconds : nil
        let delivered = min(acknowledgedRate, consumedRate.map { $0 / Double(subscriptions) } ?? .infinity)
        func share(_ n: Int, of total: Double = volume) -> String {
            let tenths = Int((Double(n) / max(total, 1) * 1000).rounded())
            return "\(n) (\(tenths / 10).\(abs(tenths % 10))% of \(Int(total.rounded())))"
        }
        // What the producer fell behind by: sends it could not make plus sends left unacknowledged. Taken
        // together, since a full client queue turns one into the other.
        let behind = max(0, volume - Double(w.sent)) + Double(max(0, w.outstandingAtEnd - w.outstandingAtStart))
        let backlogGrowth = w.backlogAtEnd - w.backlogAtStart
        let consumerVolume = volume * Double(subscriptions)
        var reason: String?
        if Double(w.errors) > 0.001 * Double(max(w.sent, 1)) {
            reason = "\(w.errors) send errors"
        } else if behind > slack {
            reason = "producer fell behind by \(share(Int(behind))): sent \(w.sent), outstanding "
                + "\(w.outstandingAtStart) -> \(w.outstandingAtEnd)"
        } else if acknowledgedRate < 0.95 * w.targetRate {
            reason = "acknowledged only \(share(w.acknowledged))"
        } else if subscriptions > 0, Double(backlogGrowth) > slack * Double(subscriptions) {
            reason = "consumer backlog grew by \(share(backlogGrowth, of: consumerVolume)) over \(subscriptions) "
                + "subscriptions"
        } else if subscriptions > 0, Double(w.consumed) < 0.95 * consumerVolume {
            reason = "consumed only \(share(w.consumed, of: consumerVolume)) over \(subscriptions) subscriptions"
        }
        return (reason, acknowledgedRate, consumedRate, delivered)
    }
}
