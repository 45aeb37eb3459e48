import Foundation
import XCTest
@testable import CrucibleWorkload

/// The maximum-rate search against a seeded simulated broker. Set CRUCIBLE_RATE_SEED=<n> to replay one seed of
/// the sweeps (its trace is printed).
final class RateSearchTests: XCTestCase {
    static let replaySeed = ProcessInfo.processInfo.environment["CRUCIBLE_RATE_SEED"].flatMap { UInt64($0) }
    var seeds: [UInt64] { Self.replaySeed.map { [$0] } ?? Array(0..<200) }

    func testSettlesJustBelowCapacityFrom500To2MillionMessagesPerSecond() {
        var worstBelow = 0.0, worstAbove = 0.0, windowsMax = 0
        for seed in seeds {
            var pick = SplitMix64(seed: seed &* 7919)
            // Log-uniform in [500, 2,000,000], both ends included.
            let capacity = seed == 0 ? 500 : seed == 1 ? 2_000_000 : 500 * pow(4_000, pick.unit())
            // Every third system is limited by its consumers rather than by the brokers' produce path.
            let consumerBound = seed % 3 == 0
            var system = SimulatedSystem(
                seed: seed, producerCapacity: consumerBound ? capacity * 1.5 : capacity,
                consumerCapacity: consumerBound ? capacity : capacity * 3, subscriptions: 1 + Int(seed % 2))
            let result = run(&system, seed: seed)
            let ratio = result.rate / capacity
            worstBelow = max(worstBelow, 1 - ratio)
            worstAbove = max(worstAbove, ratio - 1)
            windowsMax = max(windowsMax, result.trace.windows.count)
            XCTAssertEqual(result.trace.outcome, .converged, "seed \(seed)")
            XCTAssertGreaterThanOrEqual(ratio, 0.90, "seed \(seed): capacity \(capacity)")
            XCTAssertLessThanOrEqual(ratio, 1.02, "seed \(seed): capacity \(capacity)")
            XCTAssertLessThanOrEqual(result.trace.windows.count, 24, "seed \(seed)")
        }
        print("rate search sweep: worst \(percent(worstBelow)) below capacity, \(percent(worstAbove)) above, "
              + "at most \(windowsMax) windows")
    }

    func testRepeatedRunsAgreeWithinTenPercent() {
        let capacity = 123_456.0
        let rates = repeatedRuns(capacity: capacity, consumerCapacity: capacity * 2).map(\.rate)
        print("rate search repeatability: \(rates.count) runs between \(Int(rates.min()!)) and \(Int(rates.max()!))")
        XCTAssertLessThanOrEqual(rates.max()! / rates.min()!, 1.10)
        XCTAssertLessThanOrEqual(rates.max()!, capacity * 1.02)
        XCTAssertGreaterThanOrEqual(rates.min()!, capacity * 0.90)
    }

    func testAFreshSystemsBurstCapacityDoesNotHoldTheAnswerUp() {
        // As a fresh node is: it serves up to five times the capacity it sustains until it has taken 2.5 million
        // messages beyond that capacity (the page cache absorbs them until dirty pages must be written back).
        // Ramp windows pass far above what it can keep up; the search must come back down to the sustained
        // capacity, and repeated runs must agree.
        let capacity = 110_000.0
        let results = repeatedRuns(capacity: capacity, consumerCapacity: capacity * 3) { $0.burst = (5, 2_500_000) }
        for (seed, result) in results.enumerated() {
            XCTAssertEqual(result.trace.outcome, .converged, "seed \(seed)")
            XCTAssert((0.90 * capacity...1.02 * capacity).contains(result.rate), "seed \(seed): \(result.rate)")
            XCTAssertLessThanOrEqual(result.trace.windows.count, 24, "seed \(seed)")
        }
        let rates = results.map(\.rate)
        XCTAssertLessThanOrEqual(rates.max()! / rates.min()!, 1.10)
    }

    /// The search on 60 seeded systems of one producer capacity, each shaped by `configure`.
    private func repeatedRuns(capacity: Double, consumerCapacity: Double,
                              configure: (inout SimulatedSystem) -> Void = { _ in })
        -> [(rate: Double, trace: RateSearch.Trace)] {
        seeds.prefix(60).map { seed in
            var system = SimulatedSystem(seed: seed, producerCapacity: capacity, consumerCapacity: consumerCapacity,
                                         subscriptions: 1)
            configure(&system)
            return run(&system, seed: seed)
        }
    }

    func testAConsumerStallDoesNotDiscardWhatTheBrokersSustained() {
        // Capacity 100,000; the consumer all but stops during the first overloaded windows (160,000 msg/s and
        // its retry), while the brokers acknowledge their capacity: the passes below stay, and the search
        // settles at the capacity rather than climbing again from the stalled consumer's rate.
        var system = SimulatedSystem(seed: 11, producerCapacity: 100_000, consumerCapacity: 300_000, subscriptions: 1,
                                     noise: 0, hiccupProbability: 0)
        system.consumerStallProbes = [5, 6]
        let result = run(&system, seed: 11)
        XCTAssertEqual(result.trace.windows[4].rate, 160_000)
        XCTAssertLessThan(result.trace.windows[4].consumedRate!, 1_000)
        XCTAssertEqual(result.trace.outcome, .converged)
        XCTAssert((90_000...102_000).contains(result.rate), "\(result.rate)")
        // Nothing below what had passed: no climbing back up from the stalled consumer's few hundred msg/s.
        XCTAssert(result.trace.windows.allSatisfy { $0.rate >= 80_000 || $0.phase == .ramp },
                  "\(result.trace.windows.map { Int($0.rate) })")
    }

    func testRampsDownWhenCapacityIsBelowTheStartRate() {
        for capacity in [3_000.0, 500, 40] {
            var system = SimulatedSystem(seed: 1, producerCapacity: capacity, consumerCapacity: capacity * 2,
                                         subscriptions: 1)
            let result = run(&system, seed: 1)
            XCTAssertFalse(result.trace.windows[0].sustainable)
            XCTAssertEqual(result.trace.windows[0].rate, 10_000)
            XCTAssertEqual(result.trace.outcome, .converged)
            XCTAssert((0.90 * capacity...1.02 * capacity).contains(result.rate), "\(capacity): \(result.rate)")
            // Low rates get windows long enough to hold a meaningful number of messages.
            XCTAssert(result.trace.windows.allSatisfy { $0.rate * $0.seconds >= 499 || $0.seconds >= 16 })
        }
    }

    func testStopsAtTheMaximumRateOrTheWindowLimitOnAVeryFastSystem() {
        var system = SimulatedSystem(seed: 3, producerCapacity: 1e10, consumerCapacity: 1e10, subscriptions: 1,
                                     hiccupProbability: 0)
        let capped = run(&system, seed: 3, search: RateSearch(maximumRate: 1_000_000))
        XCTAssertEqual(capped.trace.outcome, .maximumRate)
        XCTAssertEqual(capped.rate, 1_000_000)
        XCTAssertEqual(capped.trace.windows.last?.rate, 1_000_000)

        let limited = run(&system, seed: 3, search: RateSearch(maxWindows: 5))
        XCTAssertEqual(limited.trace.outcome, .windowLimit)
        XCTAssertEqual(limited.trace.windows.count, 5)
        XCTAssertEqual(limited.trace.sustainable, 160_000)      // 10k doubled four times
    }

    func testADeadSystemEndsWithNoSustainableRateWithinTheWindowLimit() {
        var system = SimulatedSystem(seed: 4, producerCapacity: 0, consumerCapacity: 1_000, subscriptions: 1)
        let result = run(&system, seed: 4)
        XCTAssertEqual(result.trace.outcome, .noSustainableRate)
        XCTAssertEqual(result.rate, 1)
        XCTAssertLessThanOrEqual(result.trace.windows.count, 24)
        XCTAssert(result.trace.windows.allSatisfy { !$0.sustainable })
    }

    func testIgnoresConsumersWhenThereAreNoSubscriptions() {
        // Consumers this slow would fail every window if they were counted.
        var system = SimulatedSystem(seed: 5, producerCapacity: 80_000, consumerCapacity: 10, subscriptions: 0)
        let result = run(&system, seed: 5, search: RateSearch(subscriptions: 0))
        XCTAssert((72_000...81_600).contains(result.rate), "\(result.rate)")
        XCTAssertNil(result.trace.windows[0].consumedRate)
    }

    func testOneHiccupDoesNotCutTheBracket() {
        // Capacity 100,000; the 3rd window (40,000 msg/s) stalls once. The two windows re-run at that rate pass
        // (a majority of three) and the ramp goes on.
        var system = SimulatedSystem(seed: 9, producerCapacity: 100_000, consumerCapacity: 300_000, subscriptions: 1,
                                     noise: 0, hiccupProbability: 0)
        system.hiccupAtProbe = 3
        let result = run(&system, seed: 9)
        let windows = result.trace.windows
        XCTAssertEqual(windows[2].rate, 40_000)
        XCTAssertFalse(windows[2].sustainable)
        for retry in windows[3...4] { XCTAssertTrue(retry.retry && retry.sustainable && retry.rate == 40_000) }
        XCTAssertEqual(windows[5].rate, 80_000)
        XCTAssertFalse(windows[5].retry)
        XCTAssert((90_000...102_000).contains(result.rate), "\(result.rate)")
    }

    func testAFailedConfirmationMovesTheBracketDown() {
        // Scripted: ramp and search windows (2 and 4 s) pass up to 80,000 msg/s, but the longer confirmation
        // windows (8 s) only up to 75,000 (a system that bursts). The search must settle below 75,000, not on a
        // rate that passed once.
        var search = RateSearch(startRate: 10_000)
        var step = search.start()
        while case .probe(let rate, let seconds) = step {
            let pass = rate <= (seconds > 4 ? 75_000 : 80_000)
            step = search.observe(scripted(rate: rate, seconds: seconds, pass: pass, delivered: 80_000))
        }
        guard case .settled(let rate, let trace) = step else { return XCTFail("not settled") }
        XCTAssertEqual(trace.outcome, .converged)
        XCTAssert((70_000..<75_000).contains(rate), "\(rate)")
        XCTAssertGreaterThanOrEqual(trace.windows.filter { $0.phase == .confirm && !$0.sustainable }.count, 2)
        XCTAssertEqual(trace.windows.last?.phase, .confirm)
        XCTAssertLessThanOrEqual(trace.windows.count, 24)
    }

    func testVerdictReasonsAndTheTraceAsJSON() throws {
        var search = RateSearch(startRate: 1_000, subscriptions: 2)
        _ = search.start()
        // Sent everything, but 200 of 2,000 are still unacknowledged at the end: unsustainable.
        let step = search.observe(.init(targetRate: 1_000, seconds: 2, sent: 2_000, acknowledged: 1_800,
                                        consumed: 3_600, outstandingAtEnd: 210, backlogAtEnd: 420,
                                        backlogAtStart: 20, outstandingAtStart: 10))
        XCTAssertEqual(step, .probe(rate: 1_000, seconds: 2))
        XCTAssertTrue(search.drainBeforeProbe)
        XCTAssertEqual(search.trace.windows[0].reason, "producer fell behind by 200 (10.0% of 2000): sent 2000, "
                       + "outstanding 10 -> 210")
        // The retry passes except for its consumers, which fell behind.
        let step2 = search.observe(.init(targetRate: 1_000, seconds: 2, sent: 2_000, acknowledged: 2_000,
                                         consumed: 3_000, outstandingAtEnd: 10, backlogAtEnd: 1_020,
                                         backlogAtStart: 20, outstandingAtStart: 10))
        XCTAssertEqual(search.trace.windows[1].reason,
                       "consumer backlog grew by 1000 (25.0% of 4000) over 2 subscriptions")
        XCTAssertEqual(search.trace.windows[1].consumedRate, 1_500)
        // Two failures make 1,000 unsustainable; the next probe is just below what the better window delivered.
        guard case .probe(let rate, _) = step2 else { return XCTFail("\(step2)") }
        XCTAssertEqual(rate, 891, accuracy: 0.01)
        XCTAssertTrue(search.drainBeforeProbe)
        // Errors alone fail a window.
        _ = search.observe(.init(targetRate: rate, seconds: 2, sent: 1_782, acknowledged: 1_772, consumed: 3_544,
                                 outstandingAtEnd: 0, backlogAtEnd: 0, errors: 10))
        XCTAssertEqual(search.trace.windows[2].reason, "10 send errors")

        let json = try JSONEncoder().encode(search.trace)
        let decoded = try JSONDecoder().decode(RateSearch.Trace.self, from: json)
        XCTAssertEqual(decoded, search.trace)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: json) as? [String: Any])
        let first = try XCTUnwrap((object["windows"] as? [[String: Any]])?.first)
        XCTAssertEqual(first["phase"] as? String, "ramp")
        XCTAssertEqual(first["sustainable"] as? Bool, false)
    }

    // MARK: - Driving the search

    private func run(_ system: inout SimulatedSystem, seed: UInt64,
                     search initial: RateSearch? = nil) -> (rate: Double, trace: RateSearch.Trace) {
        var search = initial ?? RateSearch(startRate: 10_000, windowSeconds: 2, maxWindows: 24,
                                          subscriptions: system.subscriptions)
        var step = search.start()
        while case .probe(let rate, let seconds) = step {
            if search.drainBeforeProbe { system.drain() }
            step = search.observe(system.run(rate: rate, leadIn: search.leadInSeconds, seconds: seconds))
        }
        guard case .settled(let rate, let trace) = step else { fatalError("unreachable") }
        if Self.replaySeed != nil {
            for (i, w) in trace.windows.enumerated() {
                print("seed \(seed) window \(i + 1): \(w.phase)\(w.retry ? " retry" : "") \(Int(w.rate)) msg/s "
                      + "\(w.seconds) s: \(w.reason)")
            }
            print("seed \(seed): settled at \(Int(rate)) (\(trace.outcome!.rawValue))")
        }
        return (rate, trace)
    }

    private func scripted(rate: Double, seconds: Double, pass: Bool, delivered: Double) -> RateSearch.Window {
        let volume = Int(rate * seconds)
        let acked = pass ? volume : Int(min(delivered, rate * 0.9) * seconds)
        return .init(targetRate: rate, seconds: seconds, sent: volume, acknowledged: acked, consumed: acked,
                     outstandingAtEnd: volume - acked, backlogAtEnd: volume - acked)
    }

    private func percent(_ x: Double) -> String { "\(Double(Int(x * 1000)) / 10)%" }
}

/// A broker seen from the harness, in 10 ms steps: sends pass a 30 ms pipeline into the brokers' produce queue,
/// served at the producer capacity; acknowledged messages become consumable and each subscription reads them at
/// the consumer capacity. Each probe draws a multiplicative noise factor (log-normal) for both capacities and,
/// rarely, a hiccup that cuts the produce capacity for the whole window. The client's queue holds at most
/// 300,000 messages; beyond that, sends fall behind the schedule.
struct SimulatedSystem {
    var producerCapacity, consumerCapacity: Double
    var subscriptions: Int
    var noise, hiccupProbability: Double
    var hiccupAtProbe: Int?
    /// Probes during which the consumers all but stop.
    var consumerStallProbes: Set<Int> = []
    /// The first `messages` are served at `factor` times the produce capacity.
    var burst: (factor: Double, messages: Double)?
    private var rng: SplitMix64
    private var pipeline = [Double](repeating: 0, count: 3)
    private var produceQueue = 0.0, consumerBacklog = 0.0, probes = 0
    private let step = 0.01, clientQueueMessagesMax = 300_000.0

    init(seed: UInt64, producerCapacity: Double, consumerCapacity: Double, subscriptions: Int,
         noise: Double = 0.01, hiccupProbability: Double = 0.03) {
        (self.producerCapacity, self.consumerCapacity, self.subscriptions) =
            (producerCapacity, consumerCapacity, subscriptions)
        (self.noise, self.hiccupProbability, rng) = (noise, hiccupProbability, SplitMix64(seed: seed))
    }

    var outstanding: Double { pipeline.reduce(0, +) + produceQueue }

    mutating func drain() { (pipeline, produceQueue, consumerBacklog) = ([0, 0, 0], 0, 0) }

    mutating func run(rate: Double, leadIn: Double, seconds: Double) -> RateSearch.Window {
        probes += 1
        var produceRate = producerCapacity * exp(noise * rng.gaussian())
        let consumeRate = consumerCapacity * exp(noise * rng.gaussian()) * (consumerStallProbes.contains(probes) ? 0.001 : 1)
        if rng.unit() < hiccupProbability || probes == hiccupAtProbe { produceRate *= 0.2 + 0.4 * rng.unit() }
        var sent = 0.0, acked = 0.0, consumed = 0.0
        for _ in 0..<Int((leadIn / step).rounded()) { tick(rate, produceRate, consumeRate, &sent, &acked, &consumed) }
        let outstandingAtStart = outstanding, backlogAtStart = backlog
        (sent, acked, consumed) = (0, 0, 0)
        for _ in 0..<Int((seconds / step).rounded()) { tick(rate, produceRate, consumeRate, &sent, &acked, &consumed) }
        return .init(targetRate: rate, seconds: seconds, sent: Int(sent), acknowledged: Int(acked),
                     consumed: Int(consumed), outstandingAtEnd: Int(outstanding), backlogAtEnd: Int(backlog),
                     backlogAtStart: Int(backlogAtStart), outstandingAtStart: Int(outstandingAtStart))
    }

    /// OMB's backlog: every subscription's share of what was sent and not yet received.
    private var backlog: Double { Double(subscriptions) * (outstanding + consumerBacklog) }

    private mutating func tick(_ rate: Double, _ produceRate: Double, _ consumeRate: Double,
                               _ sent: inout Double, _ acked: inout Double, _ consumed: inout Double) {
        let send = max(0, min(rate * step, clientQueueMessagesMax - outstanding))
        sent += send
        produceQueue += pipeline.removeFirst()
        pipeline.append(send)
        let base = produceRate * step
        let served = min(produceQueue, burst.map { min(base * $0.factor, base + $0.messages) } ?? base)
        if let (factor, left) = burst { burst = (factor, left - max(0, served - base)) }
        produceQueue -= served
        acked += served
        consumerBacklog += served
        let read = min(consumerBacklog, consumeRate * step)
        consumerBacklog -= read
        consumed += read * Double(subscriptions)
    }
}

struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed ^ 0x5DEE_CE66_D1CE_4E5B }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func gaussian() -> Double {          // Box-Muller
        let u = max(unit(), .leastNonzeroMagnitude), v = unit()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}
