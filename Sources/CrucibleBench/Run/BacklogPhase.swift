import CrucibleWorkload
import Foundation
import NIOConcurrencyHelpers

/// OMB's `consumerBacklogSizeGB`: with the test under way, consumers pause (keeping their groups) until the
/// backlog reaches the size, then resume while producers go on at the workload's rate; the backlog has drained
/// when it is down to OMB's floor, max(1,000 messages, (1 - backlogDrainRatio) x the backlog built). A size this
/// machine cannot hold stops building early: at the end of the test duration, or when the brokers' filesystem has
/// less than 10% (or 2 GiB) free; the figures say which.
final class BacklogPhase: @unchecked Sendable {
    struct Figures: Codable, Sendable {
        var requestedBytes: Double
        var builtBytes: Double = 0
        var builtMessages = 0
        var buildSeconds = 0.0
        var buildStoppedBy = ""
        var drainSeconds: Double?
        /// Net backlog drained per second (consumers' rate minus producers'), messages and MB.
        var drainRate: Double?
        var drainMBps: Double?
        /// What the consumers received per second while draining.
        var consumeRateWhileDraining: Double?
        var drained = false
    }

    private let fleet: Fleet
    private let messageSize: Int
    private let drainRatio: Double
    private let testSeconds: Double
    private let dataDirectory: String?
    private let state: NIOLockedValueBox<Figures>
    private let done = NIOLockedValueBox(false)
    private let abandon = NIOLockedValueBox(false)

    init(fleet: Fleet, workload: Workload, testSeconds: Double, dataDirectory: String?) {
        self.fleet = fleet
        messageSize = workload.messageSize
        drainRatio = workload.backlogDrainRatio
        self.testSeconds = testSeconds
        self.dataDirectory = dataDirectory
        state = NIOLockedValueBox(Figures(requestedBytes: workload.consumerBacklogSizeGB * 1_073_741_824))
    }

    var finished: Bool { done.withLockedValue { $0 } }
    /// Ends a drain still under way (the run is over) and returns the figures.
    func finish() -> Figures {
        abandon.withLockedValue { $0 = true }
        while !finished { usleep(10_000) }
        return state.withLockedValue { $0 }
    }

    func start() {
        Thread { [self] in run() }.start()
    }

    private func run() {
        defer { done.withLockedValue { $0 = true } }
        let requested = state.withLockedValue { $0.requestedBytes }
        let start = Date()
        fleet.pauseConsumers(true)
        var stoppedBy = "size reached"
        while true {
            let backlogBytes = Double(fleet.backlog(fleet.totals) * messageSize)
            if backlogBytes >= requested { break }
            if Date().timeIntervalSince(start) >= testSeconds { stoppedBy = "test duration"; break }
            if let dataDirectory, Self.freeSpaceIsLow(dataDirectory) { stoppedBy = "brokers' free disk space"; break }
            if abandon.withLockedValue({ $0 }) { stoppedBy = "run ended"; break }
            usleep(100_000)
        }
        let built = fleet.backlog(fleet.totals)
        let received = fleet.totals.received
        state.withLockedValue {
            $0.builtMessages = built
            $0.builtBytes = Double(built * messageSize)
            $0.buildSeconds = Date().timeIntervalSince(start)
            $0.buildStoppedBy = stoppedBy
        }
        fleet.pauseConsumers(false)
        let drainStart = Date()
        let floor = max(1_000, Int((1 - drainRatio) * Double(built)))
        while !abandon.withLockedValue({ $0 }) {
            let now = fleet.backlog(fleet.totals)
            if now <= floor {
                let seconds = Date().timeIntervalSince(drainStart)
                let consumed = fleet.totals.received - received
                state.withLockedValue {
                    $0.drained = true
                    $0.drainSeconds = seconds
                    $0.drainRate = Double(built - now) / max(seconds, 0.001)
                    $0.drainMBps = $0.drainRate! * Double(messageSize) / 1_048_576
                    $0.consumeRateWhileDraining = Double(consumed) / max(seconds, 0.001)
                }
                return
            }
            usleep(100_000)
        }
    }

    static func freeSpaceIsLow(_ path: String) -> Bool {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return false }
        let free = Double(stats.f_bavail) * Double(stats.f_frsize)
        let total = Double(stats.f_blocks) * Double(stats.f_frsize)
        return free < 2 * 1_073_741_824 || free < total * 0.10
    }
}
