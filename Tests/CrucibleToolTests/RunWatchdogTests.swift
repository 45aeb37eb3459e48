@testable import CrucibleVerifyRun
import Foundation
import NIOConcurrencyHelpers
import XCTest

/// A verification run stuck past the bounds of its phases says which phase it is stuck in and is stopped once.
final class RunWatchdogTests: XCTestCase {
    func testARunPastItsBoundNamesItsPhaseAndIsStoppedOnce() {
        let lines = NIOLockedValueBox<[String]>([])
        let stalls = NIOLockedValueBox(0)
        let stopped = DispatchSemaphore(value: 0)
        let watchdog = RunWatchdog(boundSeconds: 0.2, checkEverySeconds: 0.05,
                                   progress: { line in lines.withLockedValue { $0.append(line) } },
                                   onStall: { stalls.withLockedValue { $0 += 1 }; stopped.signal() })
        watchdog.enter("reading every key to its end")
        XCTAssertEqual(stopped.wait(timeout: .now() + 30), .success, "the watchdog never fired")
        // Further checks after firing must not stop the run again.
        let later = DispatchSemaphore(value: 0)
        _ = later.wait(timeout: .now() + 0.3)
        watchdog.stop()
        XCTAssertEqual(stalls.withLockedValue { $0 }, 1)
        let said = lines.withLockedValue { $0 }
        XCTAssertEqual(said.count, 1, "\(said)")
        XCTAssertTrue(said[0].contains("stalled: still reading every key to its end"), said[0])
    }

    func testARunThatEndsInTimeIsNeverStopped() {
        let stalls = NIOLockedValueBox(0)
        let watchdog = RunWatchdog(boundSeconds: 3_600, checkEverySeconds: 0.01, progress: { _ in },
                                   onStall: { stalls.withLockedValue { $0 += 1 } })
        watchdog.enter("running the workload")
        let ticks = DispatchSemaphore(value: 0)
        _ = ticks.wait(timeout: .now() + 0.1)
        watchdog.stop()
        XCTAssertEqual(stalls.withLockedValue { $0 }, 0)
    }
}
