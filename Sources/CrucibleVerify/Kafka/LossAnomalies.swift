// Messages acknowledged but missing: lost (a later offset was read, so this one should have been) and
// unseen (never read by anyone at all).

enum LossAnomalies {
    /// `lost-write`: for each key take the highest index any committed read reached; every value whose
    /// last appearance is at or below it should have been read by someone. Those nobody read, and whose
    /// send is known to have happened, are lost.
    static func lostWrites(_ ctx: KafkaContext) -> [Anomaly] {
        var bound: [Int: (index: Int, op: Int)] = [:]
        for op in ctx.ops where op.type == .ok {
            op.reads { k, p in
                guard let i = ctx.index(k, p) else { return }
                if i > bound[k]?.index ?? -1 { bound[k] = (i, op.index) }
            }
        }
        var out: [Anomaly] = []
        for k in bound.keys.sorted() {
            let (maxIndex, maxReader) = bound[k]!
            let order = ctx.orders[k]!
            for i in 0...maxIndex {
                for v in order.allValues(at: i) where order.lastIndex(ofValue: v) == i {
                    let kv = KeyValue(key: k, value: v)
                    guard !ctx.okReads.contains(kv), let w = ctx.writerOf[kv], ctx.committed[w] else { continue }
                    let writer = ctx.ops[w]
                    out.append(Anomaly(type: "lost-write", key: .int(k), ops: [writer.index, maxReader],
                                       details: [("value", .int(v)), ("offset", .int(order.offsets[i])),
                                                 ("writer", .int(writer.index)),
                                                 ("max-read-offset", .int(order.offsets[maxIndex])),
                                                 ("max-read", .int(maxReader))]))
                }
            }
        }
        return out
    }

    /// `unseen`: acknowledged sends that no committed read ever returned, one witness per key.
    static func unseen(_ ctx: KafkaContext) -> [Anomaly] {
        var missing: [Int: [(value: Int, op: Int)]] = [:]
        for op in ctx.ops where op.type == .ok {
            op.sends { k, p in
                if !ctx.okReads.contains(KeyValue(key: k, value: p.value)) { missing[k, default: []].append((p.value, op.index)) }
            }
        }
        return missing.keys.sorted().map { k in
            let list = missing[k]!
            let shown = list.prefix(32)
            return Anomaly(type: "unseen", key: .int(k), ops: shown.map(\.op),
                           details: [("count", .int(list.count)), ("values", .vector(shown.map { .int($0.value) }))])
        }
    }
}
