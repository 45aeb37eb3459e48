// The facts every Kafka anomaly finder shares, computed once: who wrote each value, which values
// committed reads saw, which indeterminate sends are proven to have happened, and the version orders.

struct KeyValue: Hashable {
    let key: Int
    let value: Int
}

struct KafkaContext {
    let ops: [KafkaOperation]
    /// (key, value) pairs read by ok operations.
    let okReads: Set<KeyValue>
    /// The operation (position in `ops`) that sent each (key, value); ok beats info beats fail when a
    /// value was sent more than once.
    let writerOf: [KeyValue: Int]
    /// Per op: ok, or info and one of its sends was read by an ok operation (so it happened).
    let committed: [Bool]
    let orders: [Int: PartitionOrder]

    init(ops: [KafkaOperation]) {
        self.ops = ops
        var okReads = Set<KeyValue>()
        var writerOf: [KeyValue: Int] = [:]
        func rank(_ t: OperationType) -> Int { t == .ok ? 2 : t == .info ? 1 : 0 }
        for (i, op) in ops.enumerated() {
            if op.type == .ok { op.reads { k, p in okReads.insert(KeyValue(key: k, value: p.value)) } }
            op.sends { k, p in
                let kv = KeyValue(key: k, value: p.value)
                if let w = writerOf[kv], rank(ops[w].type) >= rank(op.type) { return }
                writerOf[kv] = i
            }
        }
        var committed = [Bool](repeating: false, count: ops.count)
        for (i, op) in ops.enumerated() {
            if op.type == .ok { committed[i] = true; continue }
            guard op.type == .info else { continue }
            op.sends { k, p in if okReads.contains(KeyValue(key: k, value: p.value)) { committed[i] = true } }
        }
        // Polls of every type feed the order: Kafka's read-committed consumers should only ever return
        // committed data, whatever becomes of the poller. Sends only once they are known to have happened.
        var builder = VersionOrderBuilder()
        for (i, op) in ops.enumerated() {
            op.reads { k, p in builder.observe(key: k, p) }
            if committed[i] { op.sends { k, p in builder.observe(key: k, p) } }
        }
        self.okReads = okReads
        self.writerOf = writerOf
        self.committed = committed
        self.orders = builder.build()
    }

    func index(_ key: Int, _ pair: OffsetValue) -> Int? { orders[key]?.index(of: pair) }

    func writer(_ key: Int, _ value: Int) -> KafkaOperation? {
        writerOf[KeyValue(key: key, value: value)].map { ops[$0] }
    }

    /// The values between two indices (exclusive): what a skip jumped over.
    func values(_ key: Int, between from: Int, and to: Int) -> [Int] {
        guard let order = orders[key], from + 1 < to else { return [] }
        return (from + 1..<to).map { order.values[$0] }
    }
}
