import CrucibleMutations
import Foundation
import XCTest

/// The planted broker bugs behind `crucible verify --mutation` exist only in a build made for them.
final class MutationSwitchTests: XCTestCase {
    /// Even a node told through its environment to run a planted bug runs none in the normal build.
    func testTheNormalBuildRunsNoPlantedBugWhateverTheEnvironmentSays() throws {
        guard !Mutation.compiledIn else { throw XCTSkip("this is a mutations build") }
        setenv(Mutation.environmentKey, Mutation.ackBeforeReplication.rawValue, 1)
        defer { unsetenv(Mutation.environmentKey) }
        XCTAssertNil(Mutation.active)
        XCTAssertEqual(Mutation.allCases.filter(\.isActive), [])
    }

    /// Names are what users type after `--mutation`: distinct, lower-case words joined by hyphens, each explained.
    func testEveryMutationHasATypeableNameAndASummary() {
        let names = Mutation.allCases.map(\.rawValue)
        XCTAssertEqual(Set(names).count, names.count)
        XCTAssertGreaterThanOrEqual(names.count, 8)
        for mutation in Mutation.allCases {
            XCTAssertNotNil(mutation.rawValue.range(of: "^[a-z]+(-[a-z]+)+$", options: .regularExpression), mutation.rawValue)
            XCTAssertGreaterThan(mutation.summary.count, 20, mutation.rawValue)
        }
    }
}
