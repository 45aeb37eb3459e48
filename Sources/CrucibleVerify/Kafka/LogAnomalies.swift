// Anomalies of the log itself, whoever observed it: offsets with two values, values at two offsets,
// aborted reads, reads of one's own uncommitted writes.

enum LogAnomalies {
    /// `inconsistent-offsets`: two different values reported at one offset of a key.
    static func inconsistentOffsets(_ ctx: KafkaContext) -> [Anomaly] {
        var flagged: [Int: Set<Int>] = [:]   // key -> offsets
        for (k, order) in ctx.orders where !order.conflicts.isEmpty { flagged[k] = Set(order.conflicts.keys) }
        guard !flagged.isEmpty else { return [] }
        let witnesses = opsTouching(ctx) { k, p in
            guard let o = p.offset, flagged[k]?.contains(o) ?? false else { return nil }
            return KeyValue(key: k, value: o)
        }
        var out: [Anomaly] = []
        for k in flagged.keys.sorted() {
            let order = ctx.orders[k]!
            for offset in flagged[k]!.sorted() {
                let i = order.index(ofOffset: offset)!
                let vals = order.allValues(at: i).sorted()
                let ops = witnesses[KeyValue(key: k, value: offset)]?.ops ?? []
                out.append(Anomaly(type: "inconsistent-offsets", key: .int(k), ops: ops,
                                   details: [("offset", .int(offset)), ("values", .vector(vals.map(Value.int)))]))
            }
        }
        return out
    }

    /// `duplicate`: one value at more than one offset of a key.
    static func duplicates(_ ctx: KafkaContext) -> [Anomaly] {
        var flagged: [Int: Set<Int>] = [:]   // key -> values
        for (k, order) in ctx.orders {
            for (v, first) in order.firstIndexOfValue where order.lastIndexOfValue[v] != first {
                flagged[k, default: []].insert(v)
            }
        }
        guard !flagged.isEmpty else { return [] }
        let witnesses = opsTouching(ctx) { k, p in
            p.offset != nil && (flagged[k]?.contains(p.value) ?? false) ? KeyValue(key: k, value: p.value) : nil
        }
        var out: [Anomaly] = []
        for k in flagged.keys.sorted() {
            for v in flagged[k]!.sorted() {
                let touching = witnesses[KeyValue(key: k, value: v)]
                let offsets = touching?.offsets ?? []
                out.append(Anomaly(type: "duplicate", key: .int(k), ops: touching?.ops ?? [],
                                   details: [("value", .int(v)), ("offsets", .vector(offsets.map(Value.int))),
                                             ("count", .int(offsets.count))]))
            }
        }
        return out
    }

    /// `G1a`: a committed read of a value whose send certainly failed (an aborted read).
    static func abortedReads(_ ctx: KafkaContext) -> [Anomaly] {
        var out: [Anomaly] = []
        for op in ctx.ops where op.type == .ok {
            op.reads { k, p in
                guard let w = ctx.writer(k, p.value), w.type == .fail else { return }
                out.append(Anomaly(type: "G1a", key: .int(k), ops: [w.index, op.index],
                                   details: [("value", .int(p.value)), ("writer", .int(w.index)),
                                             ("reader", .int(op.index))]))
            }
        }
        return out
    }

    /// `precommitted-read`: an operation polled a value it sent itself; Kafka's read-committed
    /// consumers must not see a transaction's records before it commits.
    static func precommittedReads(_ ctx: KafkaContext) -> [Anomaly] {
        var out: [Anomaly] = []
        for op in ctx.ops where op.f == .txn {
            var sent = Set<KeyValue>()
            op.sends { k, p in sent.insert(KeyValue(key: k, value: p.value)) }
            guard !sent.isEmpty else { continue }
            var reported = Set<KeyValue>()
            op.reads { k, p in
                let kv = KeyValue(key: k, value: p.value)
                if sent.contains(kv), reported.insert(kv).inserted {
                    out.append(Anomaly(type: "precommitted-read", key: .int(k), ops: [op.index],
                                       details: [("value", .int(p.value))]))
                }
            }
        }
        return out
    }

    /// The ops (by index, sorted) and offsets of every pair that some op read, or a committed op sent,
    /// grouped by what `group` makes of it (nil: not of interest).
    static func opsTouching(_ ctx: KafkaContext, _ group: (Int, OffsetValue) -> KeyValue?)
        -> [KeyValue: (ops: [Int], offsets: [Int])] {
        var ops: [KeyValue: Set<Int>] = [:]
        var offsets: [KeyValue: Set<Int>] = [:]
        for (i, op) in ctx.ops.enumerated() {
            let note = { (k: Int, p: OffsetValue) in
                guard let g = group(k, p) else { return }
                ops[g, default: []].insert(op.index)
                if let o = p.offset { offsets[g, default: []].insert(o) }
            }
            op.reads(note)
            if ctx.committed[i] { op.sends(note) }
        }
        var result: [KeyValue: (ops: [Int], offsets: [Int])] = [:]
        for (g, set) in ops { result[g] = (set.sorted(), (offsets[g] ?? []).sorted()) }
        return result
    }
}
