import NIOConcurrencyHelpers

/// Fetch long-polls waiting for data (Kafka's fetch purgatory). A waiter is registered on the partitions it
/// reads; an append that moves one of their high watermarks wakes it to re-check `min.bytes`.
final class FetchWaiters: @unchecked Sendable {
    private let lock = NIOLock()
    private var nextId = 0
    private var waiters: [String: [Int: @Sendable () -> Void]] = [:]

    /// Registers `wake` on every partition key; returns a token for `remove`.
    func register(_ keys: [String], wake: @escaping @Sendable () -> Void) -> Int {
        lock.withLock {
            nextId += 1
            for key in keys { waiters[key, default: [:]][nextId] = wake }
            return nextId
        }
    }

    func remove(_ token: Int, from keys: [String]) {
        lock.withLock {
            for key in keys {
                waiters[key]?.removeValue(forKey: token)
                if waiters[key]?.isEmpty == true { waiters.removeValue(forKey: key) }
            }
        }
    }

    /// Long-poll fetches waiting for data (Kafka's Fetch purgatory size), each counted once.
    var size: Int { lock.withLock { Set(waiters.values.flatMap(\.keys)).count } }

    func wake(_ key: String) {
        let toWake = lock.withLock { waiters[key].map { Array($0.values) } ?? [] }
        for wake in toWake { wake() }
    }
}
