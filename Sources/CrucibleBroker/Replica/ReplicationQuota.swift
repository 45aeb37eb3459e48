import NIOConcurrencyHelpers

/// A replication throttle (`leader.replication.throttled.rate` / `follower.replication.throttled.rate`):
/// bytes moved for throttled replicas are counted in one-second samples, and once their average over the
/// window is above the rate those replicas get no data until it falls again, as Kafka's quota does. Replicas in
/// the ISR are never throttled, so a throttle only slows replicas catching up (a reassignment).
final class ReplicationQuota: @unchecked Sendable {
    static let windowSeconds: Int64 = 10
    private let lock = NIOLock()
    private var bytesPerSecond = Int64.max
    private var samples: [(second: Int64, bytes: Int64)] = []

    func setRate(_ rate: Int64) {
        lock.withLock { bytesPerSecond = rate }
    }

    var isUnlimited: Bool { lock.withLock { bytesPerSecond == .max } }

    func isExceeded(nowMs: Int64) -> Bool {
        lock.withLock {
            guard bytesPerSecond != .max else { return false }
            prune(nowMs: nowMs)
            let total = samples.reduce(0) { $0 + $1.bytes }
            return total / Self.windowSeconds > bytesPerSecond
        }
    }

    func record(bytes: Int, nowMs: Int64) {
        guard bytes > 0 else { return }
        lock.withLock {
            let second = nowMs / 1000
            if samples.last?.second == second { samples[samples.count - 1].bytes += Int64(bytes) }
            else { samples.append((second, Int64(bytes))) }
            prune(nowMs: nowMs)
        }
    }

    private func prune(nowMs: Int64) {
        let oldest = nowMs / 1000 - Self.windowSeconds
        samples.removeAll { $0.second <= oldest }
    }

    /// Whether `config` (a `*.replication.throttled.replicas` value) names `partition` on `broker`: `*`, or
    /// entries `partition:broker`.
    static func names(_ config: String?, partition: Int32, broker: Int32) -> Bool {
        guard let config else { return false }
        let entries = config.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if entries.contains("*") { return true }
        return entries.contains("\(partition):\(broker)")
    }
}
