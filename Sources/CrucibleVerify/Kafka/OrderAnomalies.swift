// Order anomalies: consumers that skip or go back, producers whose sends land out of order, between
// operations of one process and within one operation.

enum OrderAnomalies {
    /// `poll-skip` / `nonmonotonic-poll`: per process, each key's first read in an operation should sit
    /// right after where that process's last committed read of the key left off. Assign/subscribe keeps
    /// only the keys still assigned; seek-to-beginning and a crash (any :info) start the consumer afresh.
    static func pollOrder(_ ctx: KafkaContext) -> [Anomaly] {
        var out: [Anomaly] = []
        var last: [Process: [Int: (index: Int?, value: Int, op: Int)]] = [:]
        for op in ctx.ops {
            // A crashed client (any :info) comes back with a fresh consumer.
            if op.type == .info { last[op.process] = nil; continue }
            switch op.f {
            case .other:
                continue
            case .assign, .subscribe:
                guard op.type == .ok else { continue }
                if op.seeksToBeginning { last[op.process] = nil; continue }
                let keep = Set(op.keys)
                last[op.process] = last[op.process]?.filter { keep.contains($0.key) }
            case .poll, .txn, .send:
                guard op.type == .ok else { continue }
                var firstRead: [Int: OffsetValue] = [:]
                var lastRead: [Int: OffsetValue] = [:]
                var keys: [Int] = []
                op.reads { k, p in
                    if firstRead[k] == nil { firstRead[k] = p; keys.append(k) }
                    lastRead[k] = p
                }
                let rebalanced = Set(op.rebalancedKeys)
                for k in keys {
                    let p = firstRead[k]!
                    if !rebalanced.contains(k), let prev = last[op.process]?[k] {
                        let i = ctx.index(k, p)
                        if let a = prev.index, let b = i,
                           let found = check(a, b, "poll-skip", "nonmonotonic-poll", k, prev.value, p.value,
                                             [prev.op, op.index], ctx) {
                            out.append(found)
                        }
                    }
                    let end = lastRead[k]!
                    last[op.process, default: [:]][k] = (ctx.index(k, end), end.value, op.index)
                }
            }
        }
        return out
    }

    /// `nonmonotonic-send`: per process, each key's first send in an operation should land after that
    /// process's previous send to the key. Only ok operations advance; a crash starts a new producer.
    static func sendOrder(_ ctx: KafkaContext) -> [Anomaly] {
        var out: [Anomaly] = []
        var last: [Process: [Int: (index: Int, value: Int, op: Int)]] = [:]
        for op in ctx.ops {
            if op.type == .info { last[op.process] = nil; continue }
            guard op.type == .ok, op.f == .send || op.f == .txn else { continue }
            var seen = Set<Int>()
            var ends: [Int: OffsetValue] = [:]
            op.sends { k, p in
                ends[k] = p
                guard seen.insert(k).inserted, let prev = last[op.process]?[k], let i = ctx.index(k, p) else { return }
                if i - prev.index < 1 {
                    out.append(Anomaly(type: "nonmonotonic-send", key: .int(k), ops: [prev.op, op.index],
                                       details: [("values", .vector([.int(prev.value), .int(p.value)])),
                                                 ("delta", .int(i - prev.index))]))
                }
            }
            for (k, p) in ends {
                if let i = ctx.index(k, p) { last[op.process, default: [:]][k] = (i, p.value, op.index) }
            }
        }
        return out
    }

    /// `int-poll-skip` / `int-nonmonotonic-poll` and `int-send-skip` / `int-nonmonotonic-send`: within one
    /// operation, successive reads (or sends) of a key should be adjacent in the version order. Keys
    /// rebalanced during the operation are exempt from the read checks.
    static func internalOrder(_ ctx: KafkaContext) -> [Anomaly] {
        var out: [Anomaly] = []
        for op in ctx.ops where op.type == .ok || op.type == .info {
            let rebalanced = Set(op.rebalancedKeys)
            var lastRead: [Int: (index: Int?, value: Int)] = [:]
            op.reads { k, p in
                let i = ctx.index(k, p)
                defer { lastRead[k] = (i, p.value) }
                guard !rebalanced.contains(k), let prev = lastRead[k], let a = prev.index, let b = i else { return }
                if let found = check(a, b, "int-poll-skip", "int-nonmonotonic-poll", k, prev.value, p.value, [op.index], ctx) {
                    out.append(found)
                }
            }
            var lastSend: [Int: (index: Int?, value: Int)] = [:]
            op.sends { k, p in
                let i = ctx.index(k, p)
                defer { lastSend[k] = (i, p.value) }
                guard let prev = lastSend[k], let a = prev.index, let b = i else { return }
                if let found = check(a, b, "int-send-skip", "int-nonmonotonic-send", k, prev.value, p.value, [op.index], ctx) {
                    out.append(found)
                }
            }
        }
        return out
    }

    /// A skip when index `b` is more than one past `a`, a backwards step when it is not past it at all.
    private static func check(_ a: Int, _ b: Int, _ skip: String, _ backwards: String, _ k: Int, _ v1: Int, _ v2: Int,
                              _ ops: [Int], _ ctx: KafkaContext) -> Anomaly? {
        let delta = b - a
        if delta > 1 {
            return Anomaly(type: skip, key: .int(k), ops: ops,
                           details: [("values", .vector([.int(v1), .int(v2)])), ("delta", .int(delta)),
                                     ("skipped", .vector(ctx.values(k, between: a, and: b).prefix(32).map(Value.int)))])
        }
        if delta < 1 {
            return Anomaly(type: backwards, key: .int(k), ops: ops,
                           details: [("values", .vector([.int(v1), .int(v2)])), ("delta", .int(delta))])
        }
        return nil
    }
}
