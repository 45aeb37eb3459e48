/// Who stops hearing whom when the nemesis cuts the network: for each node, the nodes whose packets it drops
/// on arrival (Jepsen's "grudge"), and how many of them in a hundred (100 for a partition, fewer for a lossy
/// link). A two-way cut is two grudges; a ring is one-way on purpose.
public struct NetworkCut: Sendable, Equatable {
    public var drops: [Int32: Set<Int32>]
    public var percent: Int

    /// `side` and the other nodes stop hearing each other: an isolated node, or majority/minority halves.
    public static func isolating(_ side: Set<Int32>, among nodes: [Int32], percent: Int = 100) -> NetworkCut {
        let others = Set(nodes).subtracting(side)
        var drops: [Int32: Set<Int32>] = [:]
        for node in nodes {
            let far = side.contains(node) ? others : side
            if !far.isEmpty { drops[node] = far }
        }
        return NetworkCut(drops: drops, percent: percent)
    }

    /// Every node drops from every other: on its own only useful as a lossy network.
    public static func everyLink(among nodes: [Int32], percent: Int) -> NetworkCut {
        NetworkCut(drops: Dictionary(uniqueKeysWithValues: nodes.map { node in (node, Set(nodes).subtracting([node])) }),
                   percent: percent)
    }

    /// Jepsen's majorities ring: on a circle in `order`, each node hears itself and the next majority-minus-one
    /// nodes, and drops the rest. Every node hears a majority, and no two hear the same one.
    public static func ring(_ order: [Int32]) -> NetworkCut {
        let count = order.count
        let heard = count / 2 + 1
        var drops: [Int32: Set<Int32>] = [:]
        for (position, node) in order.enumerated() {
            let hears = Set((0..<heard).map { order[(position + $0) % count] })
            let far = Set(order).subtracting(hears)
            if !far.isEmpty { drops[node] = far }
        }
        return NetworkCut(drops: drops, percent: 100)
    }

    /// Jepsen's bridge: two halves of `order` that cannot hear each other, and the node between them (the middle
    /// of the order) that both halves hear.
    public static func bridge(_ order: [Int32]) -> NetworkCut {
        let middle = order.count / 2
        let left = Set(order[..<middle]), right = Set(order[(middle + 1)...])
        var drops: [Int32: Set<Int32>] = [:]
        for node in left where !right.isEmpty { drops[node] = right }
        for node in right where !left.isEmpty { drops[node] = left }
        return NetworkCut(drops: drops, percent: 100)
    }

    /// Whether `listener` hears `speaker` at all (a lossy link still carries some traffic).
    public func hears(_ listener: Int32, _ speaker: Int32) -> Bool {
        percent < 100 || !(drops[listener]?.contains(speaker) ?? false)
    }
}
