import CrucibleProtocol

/// Kafka's rules for what a topic may be called and how its partitions are placed.
public enum TopicRules {
    public static let maxNameLength = 249
    /// A guard against a single request asking for an absurd amount of state.
    public static let maxPartitionsPerTopic: Int32 = 10_000

    /// nil when legal, else why not (INVALID_TOPIC_EXCEPTION).
    public static func problem(withName name: String) -> String? {
        if name.isEmpty { return "topic name is empty" }
        if name == "." || name == ".." { return "topic name cannot be '.' or '..'" }
        if name.utf8.count > maxNameLength { return "topic name is longer than \(maxNameLength) characters" }
        let legal = name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == 0x2E || c == 0x5F || c == 0x2D
        }
        return legal ? nil : "topic name '\(name)' has characters other than ASCII letters, digits, '.', '_' and '-'"
    }

    /// Spreads replicas round-robin over the brokers with a per-topic starting point and a shift for later
    /// replicas, as Kafka's rack-unaware assignment does, so leaders and followers both spread.
    public static func assignReplicas(partitions: Int32, replicationFactor: Int16, brokers: [Int32],
                                      start: Int) -> [[Int32]] {
        let sorted = brokers.sorted()
        let n = sorted.count
        precondition(n > 0 && Int(replicationFactor) <= n)
        return (0..<Int(partitions)).map { p in
            let first = (start + p) % n
            let shift = n > 1 ? 1 + (start + p / n) % (n - 1) : 0
            var replicas = [sorted[first]]
            for r in 1..<max(1, Int(replicationFactor)) {
                replicas.append(sorted[(first + (shift + r - 1) % (n - 1) + 1) % n])
            }
            return replicas
        }
    }
}
