// Dependency cycles between committed operations, as Elle finds them in Jepsen's Kafka workload: a
// write-write edge from the writer of each value to the writer of the next value in its key's log, a
// write-read edge from a value's writer to each operation that read it. A cycle of write-write edges alone is
// G0, one that needs a write-read edge G1c. Kafka's transactions do not isolate, so a correct Kafka shows both
// (the checker allows them); they are reported so that a reader sees the interleavings.

enum CycleAnomalies {
    enum Edge: String { case ww, wr }

    struct Graph {
        /// Per node (a position in `ctx.ops`): successors with the edge's kind and key.
        var out: [Int: [(to: Int, kind: Edge, key: Int)]] = [:]

        mutating func add(_ from: Int, _ to: Int, _ kind: Edge, _ key: Int) {
            guard from != to else { return }
            out[from, default: []].append((to, kind, key))
        }
    }

    static func cycles(_ ctx: KafkaContext) -> [Anomaly] {
        // Only an operation that writes twice, or reads and writes, can be on a cycle: without transactions
        // there is none to look for.
        guard ctx.ops.contains(where: { $0.f == .txn }) else { return [] }
        let graph = dependencies(ctx)
        var out: [Anomaly] = []
        for component in stronglyConnected(graph, nodes: graph.out.keys.sorted(), allowing: [.ww, .wr]) where component.count > 1 {
            let writeOnly = stronglyConnected(graph, nodes: component, allowing: [.ww]).first { $0.count > 1 }
            let (type, nodes, kinds): (String, [Int], Set<Edge>) = writeOnly.map { ("G0", $0, [.ww]) } ?? ("G1c", component, [.ww, .wr])
            guard let cycle = cycle(graph, within: Set(nodes), allowing: kinds) else { continue }
            let steps = cycle.map { step in
                Value.map([.init(.string("op"), .int(ctx.ops[step.from].index)), .init(.string("edge"), .string(step.kind.rawValue)),
                           .init(.string("key"), .int(step.key))])
            }
            out.append(Anomaly(type: type, ops: cycle.map { ctx.ops[$0.from].index }, details: [("cycle", .vector(steps))]))
        }
        return out
    }

    /// The edges among committed operations.
    static func dependencies(_ ctx: KafkaContext) -> Graph {
        var graph = Graph()
        func committedWriter(_ key: Int, _ value: Int) -> Int? {
            guard let w = ctx.writerOf[KeyValue(key: key, value: value)], ctx.committed[w] else { return nil }
            return w
        }
        for (key, order) in ctx.orders {
            var previous: Int?
            for value in order.values {
                let writer = committedWriter(key, value)
                if let previous, let writer { graph.add(previous, writer, .ww, key) }
                previous = writer ?? previous
            }
        }
        for (i, op) in ctx.ops.enumerated() where op.type == .ok {
            op.reads { key, pair in
                if let writer = committedWriter(key, pair.value) { graph.add(writer, i, .wr, key) }
            }
        }
        return graph
    }

    /// Tarjan's strongly connected components of the subgraph on `nodes` with edges of the given kinds,
    /// iteratively (histories have hundreds of thousands of operations).
    static func stronglyConnected(_ graph: Graph, nodes: [Int], allowing kinds: Set<Edge>) -> [[Int]] {
        let members = Set(nodes)
        var index: [Int: Int] = [:], low: [Int: Int] = [:], onStack = Set<Int>(), stack: [Int] = []
        var components: [[Int]] = []
        var counter = 0
        for root in nodes where index[root] == nil {
            var work: [(node: Int, next: Int)] = [(root, 0)]
            index[root] = counter; low[root] = counter; counter += 1
            stack.append(root); onStack.insert(root)
            while let (node, next) = work.last {
                let edges = graph.out[node] ?? []
                if next < edges.count {
                    work[work.count - 1].next += 1
                    let edge = edges[next]
                    guard kinds.contains(edge.kind), members.contains(edge.to) else { continue }
                    if index[edge.to] == nil {
                        index[edge.to] = counter; low[edge.to] = counter; counter += 1
                        stack.append(edge.to); onStack.insert(edge.to)
                        work.append((edge.to, 0))
                    } else if onStack.contains(edge.to) {
                        low[node] = min(low[node]!, index[edge.to]!)
                    }
                    continue
                }
                work.removeLast()
                if let parent = work.last?.node { low[parent] = min(low[parent]!, low[node]!) }
                if low[node] == index[node] {
                    var component: [Int] = []
                    while let top = stack.popLast() {
                        onStack.remove(top)
                        component.append(top)
                        if top == node { break }
                    }
                    components.append(component.sorted())
                }
            }
        }
        return components
    }

    /// A shortest cycle through the smallest node of `nodes` (a strongly connected set), by breadth-first search.
    static func cycle(_ graph: Graph, within nodes: Set<Int>, allowing kinds: Set<Edge>) -> [(from: Int, kind: Edge, key: Int)]? {
        guard let start = nodes.min() else { return nil }
        var reachedBy: [Int: (from: Int, kind: Edge, key: Int)] = [:]
        var frontier = [start]
        while !frontier.isEmpty {
            var next: [Int] = []
            for node in frontier {
                for edge in graph.out[node] ?? [] where kinds.contains(edge.kind) && nodes.contains(edge.to) {
                    if edge.to == start {
                        var path = [(from: node, kind: edge.kind, key: edge.key)]
                        var at = node
                        while at != start, let step = reachedBy[at] {
                            path.append(step)
                            at = step.from
                        }
                        return path.reversed()
                    }
                    guard reachedBy[edge.to] == nil else { continue }
                    reachedBy[edge.to] = (node, edge.kind, edge.key)
                    next.append(edge.to)
                }
            }
            frontier = next
        }
        return nil
    }
}
