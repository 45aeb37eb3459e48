import CrucibleGroups
import Foundation
import XCTest

/// The coordinator under the seeded simulation (`GroupSimulation`). `CRUCIBLE_GROUP_SEED=N` replays one seed;
/// `CRUCIBLE_GROUP_SEEDS=N` runs seeds 1...N (longer soaks outside the suite); `CRUCIBLE_GROUP_TRACE=FILE` writes
/// a failing run's whole trace.
final class GroupSimulationTests: XCTestCase {
    static let steps = 3_000

    private var seeds: [UInt64] {
        if let text = ProcessInfo.processInfo.environment["CRUCIBLE_GROUP_SEED"], let seed = UInt64(text) { return [seed] }
        let count = ProcessInfo.processInfo.environment["CRUCIBLE_GROUP_SEEDS"].flatMap { UInt64($0) } ?? 120
        return Array(1...max(1, count))
    }

    private func settings() -> GroupSettings {
        var settings = GroupSettings()
        settings.initialRebalanceDelayMs = 500
        return settings
    }

    func testInvariantsHoldUnderFaults() {
        var generations: Int32 = 0, commits = 0
        for seed in seeds {
            var simulation = GroupSimulation(seed: seed, settings: settings())
            do {
                try simulation.run(steps: Self.steps)
            } catch {
                if let path = ProcessInfo.processInfo.environment["CRUCIBLE_GROUP_TRACE"] {
                    try? simulation.trace.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
                }
                XCTFail("seed \(seed): \(error)\n" + simulation.trace.suffix(40).joined(separator: "\n"))
                return
            }
            generations += simulation.shard.groups[GroupSimulation.groupId]?.generation ?? 0
            commits += simulation.highestAcked.count
        }
        // The runs really rebalanced and committed (a simulation where nothing happens proves nothing).
        XCTAssertGreaterThan(generations, Int32(seeds.count), "too few rebalances to mean anything")
        XCTAssertGreaterThan(commits, seeds.count, "too few acknowledged commits")
    }

    func testPlantedStaleCommitIsCaught() {
        var settings = settings()
        settings.plantedBug = .acceptStaleCommits
        XCTAssertTrue(anySeedFails(settings), "accepting commits from removed members went unnoticed")
    }

    func testPlantedLeaderBugIsCaught() {
        var settings = settings()
        settings.plantedBug = .keepLeaderAfterLeave
        XCTAssertTrue(anySeedFails(settings), "a leader outside the group went unnoticed")
    }

    func testPlantedSessionBugIsCaught() {
        var settings = settings()
        settings.plantedBug = .noSessionAfterSync
        XCTAssertTrue(anySeedFails(settings), "members dropped right after their SyncGroup answer went unnoticed")
    }

    private func anySeedFails(_ settings: GroupSettings) -> Bool {
        for seed in 1...UInt64(120) {
            var simulation = GroupSimulation(seed: seed, settings: settings)
            if (try? simulation.run(steps: Self.steps)) == nil { return true }
        }
        return false
    }
}
