import Foundation
import NIOConcurrencyHelpers

/// Where a run is, and a watch on it: every phase of a run has a bound (the workload's time limit, the 90 s the
/// cluster gets to become whole, the final reads' limit), so a run far past their sum is stuck in a call that will
/// not return. Rather than hang whoever waits on it, the watchdog says which phase it is stuck in and since when,
/// then calls `onStall` (the command stops its cluster and exits).
final class RunWatchdog: @unchecked Sendable {
    private let phase = NIOLockedValueBox<(name: String, since: Date)>(("starting", Date()))
    private let started = Date()
    private let ticker: ProgressTicker

    init(boundSeconds: Double, checkEverySeconds: Double = 5, progress: @escaping @Sendable (String) -> Void,
         onStall: @escaping @Sendable () -> Void) {
        let phase = self.phase
        let started = self.started
        let fired = NIOLockedValueBox(false)
        ticker = ProgressTicker(every: checkEverySeconds) {
            let elapsed = Date().timeIntervalSince(started)
            guard elapsed > boundSeconds, !fired.withLockedValue({ let was = $0; $0 = true; return was }) else { return }
            let (name, since) = phase.withLockedValue { $0 }
            progress("stalled: still \(name) after \(Int(Date().timeIntervalSince(since))) s; the run is \(Int(elapsed)) s old, "
                     + "past the \(Int(boundSeconds)) s its phases allow. Stopping.")
            onStall()
        }
    }

    func enter(_ name: String) { phase.withLockedValue { $0 = (name, Date()) } }
    func stop() { ticker.stop() }
}
