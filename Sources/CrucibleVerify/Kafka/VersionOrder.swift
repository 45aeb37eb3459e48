// Each partition's version order, inferred from the offsets that sends and polls report.
//
// Offsets are Kafka's; *indices* are dense positions among the offsets known to hold a message, so a gap
// left by a transaction marker (an offset no client ever sees a message at) is not a hole. Comparing
// positions by offset rather than by value (as Jepsen does) keeps one anomaly from echoing as another:
// a value duplicated at two offsets does not also look like a consumer going backwards.

public struct PartitionOrder: Sendable {
    /// Known offsets, ascending.
    public private(set) var offsets: [Int] = []
    /// The (first seen) value at each index.
    public private(set) var values: [Int] = []
    /// Extra values at an offset that already had one: inconsistent offsets.
    public private(set) var conflicts: [Int: [Int]] = [:]
    var indexOfOffset: [Int: Int] = [:]
    var firstIndexOfValue: [Int: Int] = [:]
    var lastIndexOfValue: [Int: Int] = [:]

    public func index(ofOffset offset: Int) -> Int? { indexOfOffset[offset] }
    public func firstIndex(ofValue value: Int) -> Int? { firstIndexOfValue[value] }
    public func lastIndex(ofValue value: Int) -> Int? { lastIndexOfValue[value] }

    /// Where a sent or polled pair sits: by its offset when known, else by where its value first appears.
    public func index(of pair: OffsetValue) -> Int? {
        if let o = pair.offset, let i = indexOfOffset[o] { return i }
        return firstIndexOfValue[pair.value]
    }

    /// All values at an index: the first one and any conflicting ones.
    public func allValues(at index: Int) -> [Int] {
        [values[index]] + (conflicts[offsets[index]] ?? [])
    }

    /// Builds the order from the offset -> values observations of one key.
    init(observations: [Int: Int], conflicts: [Int: [Int]]) {
        offsets = observations.keys.sorted()
        values.reserveCapacity(offsets.count)
        indexOfOffset.reserveCapacity(offsets.count)
        self.conflicts = conflicts
        for (i, offset) in offsets.enumerated() {
            let v = observations[offset]!
            values.append(v)
            indexOfOffset[offset] = i
            for value in [v] + (conflicts[offset] ?? []) {
                if firstIndexOfValue[value] == nil { firstIndexOfValue[value] = i }
                lastIndexOfValue[value] = i
            }
        }
    }
}

/// Accumulates offset observations per key, then freezes them into PartitionOrders.
struct VersionOrderBuilder {
    private var observations: [Int: [Int: Int]] = [:]
    private var conflicts: [Int: [Int: [Int]]] = [:]

    mutating func observe(key: Int, _ pair: OffsetValue) {
        guard let offset = pair.offset else { return }
        let existing = observations[key, default: [:]].updateValue(pair.value, forKey: offset)
        guard let existing, existing != pair.value else { return }
        // Keep the first value as the offset's value; record the disagreement.
        observations[key]![offset] = existing
        var list = conflicts[key, default: [:]][offset, default: []]
        if !list.contains(pair.value) {
            list.append(pair.value)
            conflicts[key, default: [:]][offset] = list
        }
    }

    func build() -> [Int: PartitionOrder] {
        var orders: [Int: PartitionOrder] = [:]
        for (key, obs) in observations {
            orders[key] = PartitionOrder(observations: obs, conflicts: conflicts[key] ?? [:])
        }
        return orders
    }
}
