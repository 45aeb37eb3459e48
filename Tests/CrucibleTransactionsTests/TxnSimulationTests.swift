import CrucibleTransactions
import Foundation
import XCTest

/// The coordinator under the simulation: every seed keeps the invariants, and every planted bug is caught by
/// some seed. Replay one with CRUCIBLE_TXN_SEED=n (and CRUCIBLE_TXN_TRACE=1 for its events).
final class TxnSimulationTests: XCTestCase {
    var seeds: [UInt64] {
        if let one = ProcessInfo.processInfo.environment["CRUCIBLE_TXN_SEED"].flatMap(UInt64.init) { return [one] }
        return Array(1...UInt64(ProcessInfo.processInfo.environment["CRUCIBLE_TXN_SEEDS"].flatMap(Int.init) ?? 150))
    }
    var traced: Bool { ProcessInfo.processInfo.environment["CRUCIBLE_TXN_TRACE"] != nil }

    func testEverySeedKeepsTheInvariants() {
        var commits = 0
        for seed in seeds {
            var simulation = TxnSimulation(seed: seed, traced: traced)
            do {
                try simulation.run(steps: 1_500)
            } catch {
                XCTFail("\(error)\n" + simulation.trace.suffix(60).joined(separator: "\n"))
                return
            }
            commits += simulation.acknowledgedCommits.count
        }
        XCTAssertGreaterThan(commits, seeds.count, "the producers got commits through")
    }

    func testEveryPlantedBugIsCaught() {
        for bug in TxnPlantedBug.allCases {
            let caught = (1...UInt64(200)).first { seed in
                var simulation = TxnSimulation(seed: seed, bug: bug)
                return (try? simulation.run(steps: 1_500)) == nil
            }
            XCTAssertNotNil(caught, "\(bug) was never caught")
        }
    }
}
