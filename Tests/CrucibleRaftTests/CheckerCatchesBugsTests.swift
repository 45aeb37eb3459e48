import XCTest
@testable import CrucibleRaft

// The checker must be able to fail: each planted bug has to be caught within a small seed budget, or the
// green runs above prove nothing.

final class CheckerCatchesBugsTests: XCTestCase {
    /// Runs seeds until the first violation; fails if none is found within `budget` seeds.
    private func assertCaught(_ fault: RaftTestingFaults, voters: Int, budget: UInt64, faultPhaseMs: Int64 = 8_000,
                              file: StaticString = #filePath, line: UInt = #line) {
        var options = SimulationOptions(voterCount: voters, faultPhaseMs: faultPhaseMs)
        options.faults = fault
        options.fetchEntriesMax = 1
        for seed in 0..<budget {
            CrashSeedReporter.running(seed: seed, in: "planted bug \(fault.rawValue)")
            if let violation = Simulation(seed: seed, options: options).run().violation, !violation.isLiveness {
                print("planted bug \(fault.rawValue) caught by seed \(seed) of \(budget): \(violation)")
                return
            }
        }
        XCTFail("planted bug \(fault.rawValue) survived \(budget) seeds", file: file, line: line)
    }

    func testVotingWithoutLogCheckIsCaught() {
        assertCaught(.grantVoteWithoutLogCheck, voters: 3, budget: 500)
    }

    func testCommittingBeforeOwnEpochEntryIsCaught() {
        // It takes a leader elected without the entry, dying unseen, the old leader returning to commit the
        // entry before its own, dying in that window, and the first one winning again: long histories.
        assertCaught(.commitBeforeOwnEpochEntry, voters: 5, budget: 300, faultPhaseMs: 60_000)
    }

    func testCountingDivergedFollowerIsCaught() {
        assertCaught(.countFollowerWithoutEpochCheck, voters: 3, budget: 500)
    }
}
