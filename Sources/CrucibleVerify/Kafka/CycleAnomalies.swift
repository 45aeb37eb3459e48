// Dependency cycles between committed operations, as Elle finds them in Jepsen's Kafka workload: a
// write-write edge from the writer of each value to the writer of the next value in its key's log, a
// write-read edge from a value's writer to each operation that read it. A cycle of write-write edges alone is
// G0, one that needs a write-read edge G1c. Kafka's transactions do not isolate, so a correct Kafka shows both
// (the checker allows them); they are reported so that a reader sees the interleavings.

enum CycleAnomalies {
    enum Edge: UInt8 {
        case ww, wr
        var name: String { self == .ww ? "ww" : "wr" }
    }

    /// The edges among operations (positions in `ctx.ops`), in compressed rows: node n's edges are
    /// `start[n]..<start[n + 1]` of the edge arrays. Flat arrays, because every history with transactions pays
    /// for building it.
    struct Graph {
        var start: [Int]
        var target: [Int32]
        var kind: [Edge]
        var key: [Int32]

        init(nodes: Int, edges: [(from: Int32, to: Int32, kind: Edge, key: Int32)]) {
            start = [Int](repeating: 0, count: nodes + 1)
            for edge in edges { start[Int(edge.from) + 1] += 1 }
            for n in 0..<nodes { start[n + 1] += start[n] }
            var fill = start
            target = [Int32](repeating: 0, count: edges.count)
            kind = [Edge](repeating: .ww, count: edges.count)
            key = [Int32](repeating: 0, count: edges.count)
            for edge in edges {
                let at = fill[Int(edge.from)]
                fill[Int(edge.from)] += 1
                target[at] = edge.to
                kind[at] = edge.kind
                key[at] = edge.key
            }
        }

        func edges(of node: Int) -> Range<Int> { start[node]..<start[node + 1] }
    }

    static func cycles(_ ctx: KafkaContext) -> [Anomaly] {
        // Only an operation that writes twice, or reads and writes, can close a cycle: without transactions
        // there is none to look for.
        guard ctx.ops.contains(where: { $0.f == .txn }) else { return [] }
        let graph = dependencies(ctx)
        let everyone = [Bool](repeating: true, count: ctx.ops.count)
        var out: [Anomaly] = []
        for component in stronglyConnected(graph, members: everyone, allowing: [.ww, .wr]) {
            var members = [Bool](repeating: false, count: ctx.ops.count)
            for node in component { members[node] = true }
            let writeOnly = stronglyConnected(graph, members: members, allowing: [.ww]).first
            let (type, kinds): (String, Set<Edge>) = writeOnly == nil ? ("G1c", [.ww, .wr]) : ("G0", [.ww])
            if let writeOnly {
                members = [Bool](repeating: false, count: ctx.ops.count)
                for node in writeOnly { members[node] = true }
            }
            guard let cycle = cycle(graph, from: (writeOnly ?? component).min()!, members: members, allowing: kinds) else { continue }
            let steps = cycle.map { step in
                Value.map([.init(.string("op"), .int(ctx.ops[step.from].index)), .init(.string("edge"), .string(step.kind.name)),
                           .init(.string("key"), .int(step.key))])
            }
            out.append(Anomaly(type: type, ops: cycle.map { ctx.ops[$0.from].index }, details: [("cycle", .vector(steps))]))
        }
        return out
    }

    /// The edges among committed operations.
    static func dependencies(_ ctx: KafkaContext) -> Graph {
        var edges: [(from: Int32, to: Int32, kind: Edge, key: Int32)] = []
        func committedWriter(_ key: Int, _ value: Int) -> Int? {
            guard let w = ctx.writerOf[KeyValue(key: key, value: value)], ctx.committed[w] else { return nil }
            return w
        }
        for (key, order) in ctx.orders {
            var previous: Int?
            for value in order.values {
                let writer = committedWriter(key, value)
                if let previous, let writer, previous != writer { edges.append((Int32(previous), Int32(writer), .ww, Int32(key))) }
                previous = writer ?? previous
            }
        }
        // An operation that writes nothing has no edge out, so is on no cycle: only writers' reads count.
        for (i, op) in ctx.ops.enumerated() where op.type == .ok && op.mops.contains(where: { if case .send = $0 { true } else { false } }) {
            op.reads { key, pair in
                if let writer = committedWriter(key, pair.value), writer != i { edges.append((Int32(writer), Int32(i), .wr, Int32(key))) }
            }
        }
        return Graph(nodes: ctx.ops.count, edges: edges)
    }

    /// Tarjan's strongly connected components of more than one node, over the `members` and edges of the given
    /// kinds, iteratively (histories have hundreds of thousands of operations).
    static func stronglyConnected(_ graph: Graph, members: [Bool], allowing kinds: Set<Edge>) -> [[Int]] {
        let count = members.count
        var index = [Int](repeating: -1, count: count), low = [Int](repeating: 0, count: count)
        var onStack = [Bool](repeating: false, count: count)
        var stack: [Int] = [], work: [(node: Int, next: Int)] = []
        var components: [[Int]] = []
        var counter = 0
        func visit(_ node: Int) {
            index[node] = counter; low[node] = counter; counter += 1
            stack.append(node); onStack[node] = true
            work.append((node, graph.start[node]))
        }
        for root in 0..<count where members[root] && index[root] < 0 && !graph.edges(of: root).isEmpty {
            visit(root)
            while let (node, next) = work.last {
                if next < graph.start[node + 1] {
                    work[work.count - 1].next += 1
                    let to = Int(graph.target[next])
                    guard kinds.contains(graph.kind[next]), members[to] else { continue }
                    if index[to] < 0 {
                        visit(to)
                    } else if onStack[to] {
                        low[node] = min(low[node], index[to])
                    }
                    continue
                }
                work.removeLast()
                if let parent = work.last?.node { low[parent] = min(low[parent], low[node]) }
                guard low[node] == index[node] else { continue }
                var component: [Int] = []
                while let top = stack.popLast() {
                    onStack[top] = false
                    component.append(top)
                    if top == node { break }
                }
                if component.count > 1 { components.append(component.sorted()) }
            }
        }
        return components
    }

    /// A shortest cycle through `start` among `members` (a strongly connected set), by breadth-first search.
    static func cycle(_ graph: Graph, from start: Int, members: [Bool], allowing kinds: Set<Edge>) -> [(from: Int, kind: Edge, key: Int)]? {
        var reachedBy: [Int: (from: Int, kind: Edge, key: Int)] = [:]
        var frontier = [start]
        while !frontier.isEmpty {
            var next: [Int] = []
            for node in frontier {
                for e in graph.edges(of: node) where kinds.contains(graph.kind[e]) && members[Int(graph.target[e])] {
                    let to = Int(graph.target[e]), step = (from: node, kind: graph.kind[e], key: Int(graph.key[e]))
                    if to == start {
                        var path = [step]
                        var at = node
                        while at != start, let back = reachedBy[at] {
                            path.append(back)
                            at = back.from
                        }
                        return path.reversed()
                    }
                    guard reachedBy[to] == nil else { continue }
                    reachedBy[to] = step
                    next.append(to)
                }
            }
            frontier = next
        }
        return nil
    }
}
