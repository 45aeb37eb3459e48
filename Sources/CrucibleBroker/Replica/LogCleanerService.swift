import CrucibleStorage
import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Kafka's cleaner thread: every `log.cleaner.backoff.ms` it cleans each hosted log whose cleanup.policy
/// includes compact, leaders and followers alike (every replica compacts its own log), each below that
/// replica's last stable offset. Passes run on a queue of their own: cleaning reads and rewrites whole segments
/// and must never hold up an event loop. Only the swap of a cleaned segment takes the log's lock, briefly.
final class LogCleanerService: @unchecked Sendable {
    private let replicas: ReplicaManager
    private let cleaner: LogCleaner
    private let queue = DispatchQueue(label: "crucible.log-cleaner")
    private let backoffMs: Int64
    private let logger: Logger
    /// True while a pass runs: a slow pass is not queued behind by the timer again.
    private let running = NIOLockedValueBox(false)
    /// Per log, the earliest delete horizon its last pass left ahead. Touched only on `queue`.
    private var horizons: [String: Int64] = [:]

    init(replicas: ReplicaManager, config: BrokerConfig, logger: Logger) {
        self.replicas = replicas
        cleaner = LogCleaner(dedupeBufferBytes: config.logCleanerDedupeBufferSize, logger: logger)
        // Kafka allows 0; a repeated task needs some delay, and 10 ms of it costs nothing.
        backoffMs = max(config.logCleanerBackoffMs, 10)
        self.logger = logger
    }

    /// The task that starts passes; cancelling it (at shutdown) stops further passes. A pass cut short by the
    /// process ending leaves `.cleaned` files that the next start deletes.
    func schedule(on loop: EventLoop) -> RepeatedTask {
        loop.scheduleRepeatedTask(initialDelay: .milliseconds(backoffMs), delay: .milliseconds(backoffMs)) { [self] _ in
            guard running.withLockedValue({ let idle = !$0; $0 = true; return idle }) else { return }
            queue.async { [self] in
                defer { running.withLockedValue { $0 = false } }
                runPass(nowMs: Clock.nowMs())
            }
        }
    }

    private func runPass(nowMs: Int64) {
        for partition in replicas.allPartitions where partition.log.currentConfig.compacts {
            let log = partition.log
            do {
                let due = horizons[log.name].map { nowMs >= $0 } ?? false
                guard let result = try replicas.logs.clean(log, with: cleaner, upperBound: partition.lastStableOffset,
                                                           nowMs: nowMs, tombstonesDue: due) else { continue }
                horizons[log.name] = result.nextDeleteHorizonMs
                if result.segmentsRewritten > 0 {
                    logger.info("cleaned \(log.name) up to offset \(result.endOffset): \(result.segmentsRewritten) segment(s) rewritten, \(result.recordsRemoved) record(s) removed")
                }
            } catch {
                logger.warning("cleaning \(log.name) failed: \(error)")
            }
        }
    }
}
