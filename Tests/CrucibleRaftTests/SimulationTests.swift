import Foundation
import XCTest
@testable import CrucibleRaft

// Thousands of seeded cluster runs. A failure prints its seed; replay it alone with
// `CRUCIBLE_RAFT_SEED=<seed> swift test --filter CrucibleRaftTests.SimulationTests`.

final class SimulationTests: XCTestCase {
    /// The seed to replay, if one was given.
    private var replaySeed: UInt64? {
        ProcessInfo.processInfo.environment["CRUCIBLE_RAFT_SEED"].flatMap { UInt64($0) }
    }

    /// Runs `count` seeds from `firstSeed`; returns the failures as "seed: violation".
    private func runSeeds(_ seeds: some Sequence<UInt64>, options: SimulationOptions) -> [String] {
        var failures: [String] = []
        for seed in seeds {
            let result = Simulation(seed: seed, options: options).run()
            if let violation = result.violation { failures.append("seed \(seed): \(violation)") }
        }
        return failures
    }

    private func check(_ name: String, seeds: Range<UInt64>, options: SimulationOptions) {
        let chosen: [UInt64] = replaySeed.map { [$0] } ?? Array(seeds)
        let started = Date()
        let failures = runSeeds(chosen, options: options)
        print("simulation \(name): \(chosen.count) seeds in \(String(format: "%.1f", Date().timeIntervalSince(started))) s, "
              + "\(failures.count) failed")
        for failure in failures.prefix(10) {
            XCTFail("\(name) \(failure) (replay: CRUCIBLE_RAFT_SEED=\(failure.split(separator: ":")[0].dropFirst(5)))")
        }
    }

    func testThreeVotersWithAllFaults() {
        check("3 voters", seeds: 0..<1000, options: SimulationOptions(voterCount: 3))
    }

    func testFiveVotersWithAllFaults() {
        check("5 voters", seeds: 100_000..<100_600, options: SimulationOptions(voterCount: 5))
    }
}
