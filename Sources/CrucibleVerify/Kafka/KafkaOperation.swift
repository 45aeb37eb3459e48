// The Kafka workload's view of a history: each client operation's micro-operations, with keys
// (topic-partitions) and values as integers, as the contract and jepsen.tests.kafka define them.

public struct OffsetValue: Hashable, Sendable {
    public var offset: Int?
    public var value: Int
    public init(_ offset: Int?, _ value: Int) { self.offset = offset; self.value = value }
}

public enum MicroOp: Sendable {
    /// `[send k v]` or, once completed, `[send k [offset v]]` (offset nil when unknown).
    case send(key: Int, OffsetValue)
    /// `[poll]`, or once completed `[poll {k [[offset v] ...]}]`; keys in the order they appeared.
    case poll([(key: Int, pairs: [OffsetValue])])
}

public enum KafkaFunction: String, Sendable {
    case send, poll, txn, assign, subscribe
    /// Any other client operation (Jepsen's `:crash`, `:debug-topic-partitions`); only kept when it
    /// ended :info, because a crashed client comes back with a fresh consumer and producer.
    case other
}

/// A completed (or crashed) Kafka operation: the completion's view, since that carries the results.
public struct KafkaOperation: Sendable {
    /// Position of the completion in the history (of the invoke, for a client that never answered).
    public var position: Int
    /// The completion's `index`: witnesses name it.
    public var index: Int
    public var process: Process
    /// ok, fail or info; an invoke that never completed counts as info.
    public var type: OperationType
    public var f: KafkaFunction
    public var mops: [MicroOp]
    /// For assign/subscribe: the keys.
    public var keys: [Int]
    /// Keys the consumer was rebalanced on during this operation (`rebalance-log`).
    public var rebalancedKeys: [Int]
    /// `assign` with `seek-to-beginning?`: the consumer starts over, so earlier positions no longer bind it.
    public var seeksToBeginning: Bool

    /// Each key's sends in order.
    public func sends(_ body: (Int, OffsetValue) -> Void) {
        for case .send(let k, let ov) in mops { body(k, ov) }
    }

    /// Each key's polled pairs in order, poll by poll.
    public func reads(_ body: (Int, OffsetValue) -> Void) {
        for case .poll(let groups) in mops { for g in groups { for p in g.pairs { body(g.key, p) } } }
    }
}

public enum KafkaHistoryDecoder {
    /// Client operations with f in send/poll/txn/assign/subscribe, one per completion; others are ignored.
    public static func decode(_ history: History) throws -> [KafkaOperation] {
        var out: [KafkaOperation] = []
        out.reserveCapacity(history.count / 2 + 1)
        for position in 0..<history.count {
            let op = history[position]
            guard op.process.isClient else { continue }
            guard let f = KafkaFunction(rawValue: op.f), f != .other else {
                if op.type == .info {
                    out.append(KafkaOperation(position: position, index: op.index, process: op.process, type: .info,
                                              f: .other, mops: [], keys: [], rebalancedKeys: [], seeksToBeginning: false))
                }
                continue
            }
            let type: OperationType
            let source: Operation
            if op.type == .invoke {
                guard history.completion(of: position) == nil else { continue }
                type = .info     // never answered: indeterminate
                source = op
            } else {
                type = op.type
                // A failed or crashed completion may not repeat the invoke's value; fall back to the invoke's.
                if op.value.isNull, let start = history.invocation(of: position) {
                    source = Operation(index: op.index, process: op.process, type: op.type, f: op.f,
                                       value: history[start].value, extra: op.extra, line: op.line)
                } else {
                    source = op
                }
            }
            out.append(try decode(source, position: position, type: type, f: f, file: history.source))
        }
        return out
    }

    static func decode(_ op: Operation, position: Int, type: OperationType, f: KafkaFunction,
                       file: String) throws -> KafkaOperation {
        func bad(_ what: String) -> HistoryReadError { HistoryReadError(file: file, line: op.line, expected: what) }
        var mops: [MicroOp] = []
        var keys: [Int] = []
        switch f {
        case .other:
            break
        case .assign, .subscribe:
            guard let items = op.value.elements else { throw bad("a list of keys as the value of \(f.rawValue)") }
            for item in items {
                guard let k = item.intValue else { throw bad("integer keys in \(f.rawValue), found \(item)") }
                keys.append(k)
            }
        case .send, .poll, .txn:
            guard let items = op.value.elements else { throw bad("a list of micro-ops [[send k v] | [poll ...]]") }
            for item in items {
                guard let parts = item.elements, let name = parts.first?.name else {
                    throw bad("a micro-op [send k v] or [poll ...], found \(item)")
                }
                switch name {
                case "send":
                    guard parts.count == 3, let k = parts[1].intValue else { throw bad("[send key value], found \(item)") }
                    if let pair = parts[2].elements {
                        guard pair.count == 2, let v = pair[1].intValue, pair[0].isNull || pair[0].intValue != nil else {
                            throw bad("[offset value] integers in a send, found \(parts[2])")
                        }
                        mops.append(.send(key: k, OffsetValue(pair[0].intValue, v)))
                    } else if let v = parts[2].intValue {
                        mops.append(.send(key: k, OffsetValue(nil, v)))
                    } else {
                        throw bad("an integer value or [offset value] in a send, found \(parts[2])")
                    }
                case "poll":
                    guard parts.count <= 2 else { throw bad("[poll] or [poll {key pairs}], found \(item)") }
                    guard parts.count == 2, !parts[1].isNull else { mops.append(.poll([])); continue }
                    guard case .map(let entries) = parts[1] else { throw bad("a map of key to [[offset value] ...] in a poll") }
                    var groups: [(key: Int, pairs: [OffsetValue])] = []
                    groups.reserveCapacity(entries.count)
                    for entry in entries {
                        guard let k = entry.key.intValue, let list = entry.value.elements else {
                            throw bad("an integer key mapped to [[offset value] ...] in a poll, found \(entry.key)")
                        }
                        var pairs: [OffsetValue] = []
                        pairs.reserveCapacity(list.count)
                        for p in list {
                            guard let pv = p.elements, pv.count == 2, let v = pv[1].intValue,
                                  pv[0].isNull || pv[0].intValue != nil else {
                                throw bad("[offset value] integers in a poll, found \(p)")
                            }
                            pairs.append(OffsetValue(pv[0].intValue, v))
                        }
                        groups.append((k, pairs))
                    }
                    mops.append(.poll(groups))
                default:
                    throw bad("micro-op send or poll, found \(name)")
                }
            }
        }
        var rebalanced: [Int] = []
        if let log = op.extraField("rebalance-log")?.elements {
            for event in log { for k in event["keys"]?.elements ?? [] { if let k = k.intValue { rebalanced.append(k) } } }
        }
        let seek = op.extraField("seek-to-beginning?") ?? op.extraField("seek-to-beginning")
        return KafkaOperation(position: position, index: op.index, process: op.process, type: type, f: f, mops: mops,
                              keys: keys, rebalancedKeys: rebalanced, seeksToBeginning: seek == .bool(true))
    }
}
