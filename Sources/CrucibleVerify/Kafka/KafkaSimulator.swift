// Generates Kafka-workload histories from a simulated, correct log — and, on request, one planted
// fault. Property tests check that correct histories are always valid and each fault is always caught;
// the performance figures use it for large histories. Deterministic for a given seed.

/// SplitMix64: small, fast, and the same on every platform, so a failing seed reproduces.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

public enum KafkaFault: String, CaseIterable, Sendable {
    /// An acknowledged message never reaches the log (its offset stays empty).
    case lostWrite = "lost-write"
    /// A retried send lands twice: one value at two offsets.
    case duplicate
    /// The log is truncated under a read message and another takes its offset: two values at one offset.
    case inconsistentOffset = "inconsistent-offsets"
    /// A consumer's position moves back without any reassignment.
    case nonmonotonicPoll = "nonmonotonic-poll"
    /// A send reported as failed is written anyway, and read.
    case abortedRead = "G1a"

    /// The anomaly type the checker must report for this fault.
    public var expectedAnomaly: String { rawValue }
}

public struct KafkaSimulation {
    public var operations = 1000
    public var processes = 5
    public var keys = 3
    public var fault: KafkaFault?
    /// Largest number of records one poll returns per key.
    public var maxPollRecords = 4

    public init(operations: Int = 1000, processes: Int = 5, keys: Int = 3, fault: KafkaFault? = nil) {
        self.operations = operations
        self.processes = processes
        self.keys = keys
        self.fault = fault
    }

    /// The history as operations: `operations` invoke/completion pairs, then final reads of every key.
    public func run(seed: UInt64) -> [Operation] {
        var sim = Simulator(config: self, rng: SeededRandom(seed: seed))
        return sim.run()
    }
}

private struct Simulator {
    let config: KafkaSimulation
    var rng: SeededRandom
    /// Visible messages per key: (offset, value).
    var log: [[(offset: Int, value: Int)]]
    /// Next offset per key; transaction markers and invisible records use offsets too.
    var nextOffset: [Int]
    var nextValue = 0
    /// Per process: assigned key -> position (index into the visible log).
    var positions: [[Int: Int]]
    var history: [Operation] = []
    var faultPlanted = false

    init(config: KafkaSimulation, rng: SeededRandom) {
        self.config = config
        self.rng = rng
        log = Array(repeating: [], count: config.keys)
        nextOffset = Array(repeating: 0, count: config.keys)
        positions = (0..<config.processes).map { _ in Dictionary(uniqueKeysWithValues: (0..<config.keys).map { ($0, 0) }) }
    }

    mutating func chance(_ p: Double) -> Bool { Double(rng.next() >> 11) / Double(1 << 53) < p }
    mutating func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }

    mutating func run() -> [Operation] {
        history.reserveCapacity(config.operations * 2 + config.keys * 4 + 8)
        // Plant the fault somewhere in the middle half, so there is history before and after it.
        let faultAt = config.fault == nil ? Int.max : config.operations / 4 + pick(max(1, config.operations / 2))
        for n in 0..<config.operations {
            let p = pick(config.processes)
            let wantFault = config.fault != nil && !faultPlanted && n >= faultAt
            let roll = pick(100)
            if wantFault, tryPlantFault(process: p) { continue }
            switch roll {
            case 0..<35: send(process: p)
            case 35..<70: poll(process: p)
            case 70..<85: txn(process: p)
            case 85..<95: assign(process: p)
            default: crash(process: p)
            }
        }
        if config.fault != nil && !faultPlanted {
            // The middle never offered a chance (tiny histories): force it now.
            for p in 0..<config.processes where !faultPlanted { _ = tryPlantFault(process: p) }
        }
        finalReads()
        return history
    }

    // MARK: operations

    mutating func emit(_ process: Int, _ type: OperationType, _ f: String, _ value: Value, extra: [Value.MapEntry] = []) {
        let i = history.count
        history.append(Operation(index: i, time: i * 1000, process: .client(process), type: type, f: f, value: value,
                                 extra: extra, line: i + 1))
    }

    mutating func freshValue() -> Int { nextValue += 1; return nextValue }

    mutating func append(_ k: Int, _ v: Int) -> Int {
        let o = nextOffset[k]
        nextOffset[k] += 1
        log[k].append((o, v))
        return o
    }

    static func sendMop(_ k: Int, _ v: Int) -> Value { .vector([.string("send"), .int(k), .int(v)]) }
    static func sendDone(_ k: Int, _ o: Int?, _ v: Int) -> Value {
        .vector([.string("send"), .int(k), .vector([o.map(Value.int) ?? .null, .int(v)])])
    }

    mutating func send(process p: Int) {
        let count = 1 + pick(2)
        let targets = (0..<count).map { _ in (pick(config.keys), freshValue()) }
        emit(p, .invoke, "send", .vector(targets.map { Self.sendMop($0.0, $0.1) }))
        let outcome = pick(20)
        if outcome == 0 {
            emit(p, .fail, "send", .vector(targets.map { Self.sendMop($0.0, $0.1) }))
        } else if outcome == 1 {
            // Indeterminate: the client crashed; the messages may or may not be in the log.
            for (k, v) in targets where chance(0.5) { _ = append(k, v) }
            emit(p, .info, "send", .vector(targets.map { Self.sendMop($0.0, $0.1) }))
            resetConsumer(p)
        } else {
            let done = targets.map { (k, v) in Self.sendDone(k, append(k, v), v) }
            emit(p, .ok, "send", .vector(done))
        }
    }

    /// Reads up to maxPollRecords per assigned key, in key order; `atLeastOne` forces a record from `key`.
    mutating func readMop(process p: Int, force key: Int? = nil) -> Value {
        var entries: [Value.MapEntry] = []
        for k in positions[p].keys.sorted() {
            let pos = positions[p][k]!
            let available = log[k].count - pos
            guard available > 0 else { continue }
            var n = pick(min(available, config.maxPollRecords) + 1)
            if k == key { n = max(n, 1) }
            guard n > 0 else { continue }
            let pairs = log[k][pos..<pos + n].map { Value.vector([.int($0.offset), .int($0.value)]) }
            positions[p][k] = pos + n
            entries.append(.init(.string(String(k)), .vector(pairs)))
        }
        return .vector([.string("poll"), .map(entries)])
    }

    mutating func poll(process p: Int) {
        emit(p, .invoke, "poll", .vector([.vector([.string("poll")])]))
        emit(p, .ok, "poll", .vector([readMop(process: p)]))
    }

    /// A transaction of sends and polls. Its polls never see its own sends (they commit at the end);
    /// committing writes a marker per key, aborting leaves the records invisible: both use offsets.
    mutating func txn(process p: Int) {
        var invoke: [Value] = []
        var plan: [(send: Bool, key: Int, value: Int)] = []
        for _ in 0..<(1 + pick(3)) {
            if chance(0.3) {
                plan.append((false, 0, 0))
                invoke.append(.vector([.string("poll")]))
            } else {
                let k = pick(config.keys), v = freshValue()
                plan.append((true, k, v))
                invoke.append(Self.sendMop(k, v))
            }
        }
        emit(p, .invoke, "txn", .vector(invoke))
        // Polls run in order before the commit, so they see only committed data, never this txn's sends.
        var pollResults: [Value] = []
        var touched = Set<Int>()
        let positionsBefore = positions[p]
        for step in plan {
            if step.send { touched.insert(step.key) } else { pollResults.append(readMop(process: p)) }
        }
        if pick(10) == 0 {
            // Aborted: the records and the abort marker take offsets but stay invisible.
            for step in plan where step.send { nextOffset[step.key] += 1 }
            for k in touched { nextOffset[k] += 1 }
            positions[p] = positionsBefore   // the client seeks back to its committed offsets
            emit(p, .fail, "txn", .vector(invoke))
            return
        }
        var out: [Value] = []
        for step in plan {
            if step.send {
                out.append(Self.sendDone(step.key, append(step.key, step.value), step.value))
            } else {
                out.append(pollResults.removeFirst())
            }
        }
        for k in touched.sorted() { nextOffset[k] += 1 }   // commit marker
        emit(p, .ok, "txn", .vector(out))
    }

    mutating func assign(process p: Int) {
        var keys = (0..<config.keys).filter { _ in chance(0.6) }
        if keys.isEmpty { keys = [pick(config.keys)] }
        emit(p, .invoke, "assign", .vector(keys.map(Value.int)))
        var next: [Int: Int] = [:]
        for k in keys { next[k] = positions[p][k] ?? 0 }   // kept keys keep their position; new ones start at 0
        positions[p] = next
        emit(p, .ok, "assign", .vector(keys.map(Value.int)))
    }

    /// A poll that crashes the client: indeterminate, and the new client starts from the beginning.
    mutating func crash(process p: Int) {
        emit(p, .invoke, "poll", .vector([.vector([.string("poll")])]))
        emit(p, .info, "poll", .vector([.vector([.string("poll")])]))
        resetConsumer(p)
    }

    mutating func resetConsumer(_ p: Int) {
        for k in positions[p].keys { positions[p][k] = 0 }
    }

    /// Every key gets one more acknowledged message, then a fresh reader reads every key from the start:
    /// whatever was acknowledged must now be seen.
    mutating func finalReads() {
        for k in 0..<config.keys {
            let v = freshValue()
            emit(0, .invoke, "send", .vector([Self.sendMop(k, v)]))
            emit(0, .ok, "send", .vector([Self.sendDone(k, append(k, v), v)]))
        }
        let reader = config.processes
        let all = Value.vector((0..<config.keys).map(Value.int))
        emit(reader, .invoke, "assign", all, extra: [.init(.string("seek-to-beginning?"), .bool(true))])
        emit(reader, .ok, "assign", all, extra: [.init(.string("seek-to-beginning?"), .bool(true))])
        var entries: [Value.MapEntry] = []
        for k in 0..<config.keys {
            entries.append(.init(.string(String(k)), .vector(log[k].map { .vector([.int($0.offset), .int($0.value)]) })))
        }
        emit(reader, .invoke, "poll", .vector([.vector([.string("poll")])]))
        emit(reader, .ok, "poll", .vector([.vector([.string("poll"), .map(entries)])]))
    }

    // MARK: faults

    mutating func tryPlantFault(process p: Int) -> Bool {
        guard let fault = config.fault else { return false }
        switch fault {
        case .lostWrite:
            let k = pick(config.keys), v = freshValue()
            emit(p, .invoke, "send", .vector([Self.sendMop(k, v)]))
            let o = nextOffset[k]
            nextOffset[k] += 1           // acknowledged at an offset that never holds it
            emit(p, .ok, "send", .vector([Self.sendDone(k, o, v)]))
        case .duplicate:
            let k = pick(config.keys), v = freshValue()
            emit(p, .invoke, "send", .vector([Self.sendMop(k, v)]))
            let o = append(k, v)
            _ = append(k, v)             // the retry lands too
            emit(p, .ok, "send", .vector([Self.sendDone(k, o, v)]))
        case .inconsistentOffset:
            // Needs a message some consumer has already read: it is replaced under that consumer's feet.
            let positions = self.positions
            guard let (k, read) = (0..<config.keys).map({ k in (k, positions.map { $0[k] ?? 0 }.max() ?? 0) })
                .first(where: { $0.1 >= 1 }) else { return false }
            let v = freshValue()
            emit(p, .invoke, "send", .vector([Self.sendMop(k, v)]))
            let o = log[k][read - 1].offset
            log[k][read - 1] = (o, v)
            emit(p, .ok, "send", .vector([Self.sendDone(k, o, v)]))
        case .nonmonotonicPoll:
            guard let k = positions[p].first(where: { $0.value >= 1 })?.key else { return false }
            positions[p][k]! -= 1
            emit(p, .invoke, "poll", .vector([.vector([.string("poll")])]))
            emit(p, .ok, "poll", .vector([readMop(process: p, force: k)]))
        case .abortedRead:
            let k = pick(config.keys), v = freshValue()
            emit(p, .invoke, "send", .vector([Self.sendMop(k, v)]))
            _ = append(k, v)             // written, though the client is told it failed
            emit(p, .fail, "send", .vector([Self.sendMop(k, v)]))
        }
        faultPlanted = true
        return true
    }
}
