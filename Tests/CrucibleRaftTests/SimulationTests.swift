import Foundation
import XCTest
@testable import CrucibleRaft

// Thousands of seeded cluster runs. A failure prints its seed; replay it alone with
// `CRUCIBLE_RAFT_SEED=<seed> swift test --filter CrucibleRaftTests.SimulationTests/<test>`.

final class SimulationTests: XCTestCase {
    /// The seed to replay, if one was given.
    static var replaySeed: UInt64? {
        ProcessInfo.processInfo.environment["CRUCIBLE_RAFT_SEED"].flatMap { UInt64($0) }
    }

    /// Runs the seeds; returns the failures and the summed statistics.
    static func runSeeds(_ seeds: [UInt64], name: String, options: SimulationOptions)
        -> (failures: [(seed: UInt64, violation: InvariantViolation)], totals: SimulationResult) {
        var failures: [(UInt64, InvariantViolation)] = []
        var totals = SimulationResult()
        for seed in seeds {
            CrashSeedReporter.running(seed: seed, in: name)
            let result = Simulation(seed: seed, options: options).run()
            totals.add(result)
            if let violation = result.violation { failures.append((seed, violation)) }
        }
        return (failures, totals)
    }

    /// `CRUCIBLE_RAFT_SOAK=<factor>` runs that many times the seeds, for a long search off CI.
    static var soakFactor: UInt64 {
        ProcessInfo.processInfo.environment["CRUCIBLE_RAFT_SOAK"].flatMap { UInt64($0) } ?? 1
    }

    private func check(_ name: String, seeds: Range<UInt64>, options: SimulationOptions) {
        let soaked = seeds.lowerBound..<(seeds.lowerBound + UInt64(seeds.count) * Self.soakFactor)
        let chosen: [UInt64] = Self.replaySeed.map { [$0] } ?? Array(soaked)
        let started = Date()
        let (failures, totals) = Self.runSeeds(chosen, name: name, options: options)
        print("simulation \(name): \(chosen.count) seeds in \(String(format: "%.1f", Date().timeIntervalSince(started))) s, "
              + "\(failures.count) failed; \(totals.summary)")
        for (seed, violation) in failures.prefix(10) {
            XCTFail("\(name) seed \(seed) \(violation) (replay: CRUCIBLE_RAFT_SEED=\(seed))")
        }
    }

    /// A seed is a replay: the same seed gives the same history, event for event.
    func testSameSeedReplaysTheSameHistory() {
        let options = SimulationOptions(voterCount: 5, faultPhaseMs: 20_000)
        let first = Simulation(seed: 77, options: options), second = Simulation(seed: 77, options: options)
        let (a, b) = (first.run(), second.run())
        XCTAssertEqual(a.summary, b.summary)
        XCTAssertEqual(first.checker.committed, second.checker.committed)
        XCTAssertGreaterThan(a.committedEntries, 10)
    }

    func testThreeVoters() {
        check("3 voters", seeds: 0..<1_200, options: SimulationOptions(voterCount: 3, faultPhaseMs: 20_000))
    }

    func testFiveVoters() {
        check("5 voters", seeds: 100_000..<100_800, options: SimulationOptions(voterCount: 5, faultPhaseMs: 20_000))
    }

    func testThreeVotersAndTwoObservers() {
        check("3 voters + 2 observers", seeds: 200_000..<200_300,
              options: SimulationOptions(voterCount: 3, observerCount: 2, faultPhaseMs: 20_000))
    }

    /// Fewer, longer runs: many leader changes in one history.
    func testFiveVotersLongRuns() {
        check("5 voters, long", seeds: 300_000..<300_100, options: SimulationOptions(voterCount: 5, faultPhaseMs: 60_000))
    }

    /// Slow disks and one entry per fetch widen the windows between replication steps.
    func testThreeVotersSlowDisks() {
        check("3 voters, slow disks", seeds: 400_000..<400_300,
              options: SimulationOptions(voterCount: 3, faultPhaseMs: 20_000, flushDelayMsMax: 150,
                                         proposalIntervalMs: 100..<400, fetchEntriesMax: 1))
    }

    /// Messages only delayed and reordered, never lost: the failure detectors must not fire spuriously, so
    /// every run ends in a stable leader well inside the bound.
    func testReliableNetworkWithCrashesOnly() {
        check("3 voters, crashes only", seeds: 500_000..<500_200,
              options: SimulationOptions(voterCount: 3, faultPhaseMs: 10_000, dropProbability: 0,
                                         duplicateProbability: 0, partitions: false))
    }
}
