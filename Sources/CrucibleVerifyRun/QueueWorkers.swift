import CrucibleVerify
import CrucibleWorkload
import Foundation
import NIOConcurrencyHelpers

/// The client side of a run: one thread per worker, each a Jepsen process performing the generator's operations
/// at the scenario's rate through its own librdkafka clients, recording invoke and completion. As in Jepsen, a
/// worker whose operation ended `info` (or that crashed) carries on as a new process with new clients: the old
/// process may still have that operation in flight.
final class QueueWorkers: @unchecked Sendable {
    private let scenario: Scenario
    private let bootstrap: String
    private let topic: String
    private let group: String
    private let history: HistoryRecorder
    private let generator: NIOLockedValueBox<QueueGenerator>
    /// The highest offset known per key, from acknowledged sends and polls: how far the final reads must get.
    let highestOffsets = NIOLockedValueBox<[Int: Int64]>([:])
    /// Every value acknowledged, per key: what the final reads must find.
    let acknowledged = NIOLockedValueBox<[Int: Set<Int>]>([:])
    private let counts = NIOLockedValueBox<[String: Int]>([:])

    init(scenario: Scenario, seed: UInt64, bootstrap: String, topic: String, group: String, history: HistoryRecorder) {
        self.scenario = scenario
        self.bootstrap = bootstrap
        self.topic = topic
        self.group = group
        self.history = history
        generator = NIOLockedValueBox(QueueGenerator(seed: seed, keys: scenario.keys, sendFraction: scenario.sendFraction,
                                                     rate: scenario.rate, crashIntervalSeconds: scenario.crashIntervalSeconds,
                                                     transactions: scenario.transactions))
    }

    /// Operations completed so far, by outcome (`send ok`, `send info`, `poll ok`, ...).
    var completed: [String: Int] { counts.withLockedValue { $0 } }

    /// Runs every worker until `end`, then returns once each has finished its last operation.
    func run(until end: Date) {
        let group = DispatchGroup()
        for worker in 0..<scenario.processes {
            group.enter()
            let thread = Thread { [self] in
                work(worker, until: end)
                group.leave()
            }
            thread.name = "verify-worker-\(worker)"
            thread.start()
        }
        group.wait()
    }

    private func work(_ worker: Int, until end: Date) {
        let interval = Double(scenario.processes) / scenario.rate
        var process = worker
        var client: QueueClient?
        // Workers start spread over one interval, so their operations interleave rather than arrive together.
        var next = Date().addingTimeInterval(interval * Double(worker) / Double(scenario.processes))
        while next < end {
            let wait = next.timeIntervalSinceNow
            if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
            next = max(next.addingTimeInterval(interval), Date())
            if client == nil {
                client = open(process: process)
                if client == nil { usleep(500_000); continue }
            }
            // Drawn and invoked under one lock: the history's invokes are the generator's sequence, in order, so a
            // replay from the same seed shows the same operations.
            let operation = generator.withLockedValue { generator -> QueueOperation in
                let operation = generator.next()
                invoke(operation, process: process)
                return operation
            }
            let survived = perform(operation, process: process, client: client!)
            if !survived {
                client?.close()
                client = nil
                process += scenario.processes
            }
        }
        client?.close()
    }

    /// The transactional ids the workers' producers use (the transactional workload), one per worker.
    var transactionalIds: [String] {
        scenario.transactions == nil ? [] : (0..<scenario.processes).map { Scenario.transactionalId(topic: topic, worker: $0) }
    }

    /// Opens a process's clients and records its assign or subscribe; nil (and nothing recorded) when librdkafka
    /// refuses to start. A worker's process is transactional in the transactional workload; the final reads' not.
    func open(process: Int, mode: Scenario.ConsumeMode? = nil, transactional: Bool = true) -> QueueClient? {
        let mode = mode ?? scenario.mode
        let transactionalId = transactional && scenario.transactions != nil
            ? Scenario.transactionalId(topic: topic, worker: process % scenario.processes) : nil
        guard let client = try? QueueClient(process: process, bootstrap: bootstrap, topic: topic, keys: scenario.keys,
                                            scenario: scenario, group: group, subscribe: mode == .subscribe,
                                            transactionalId: transactionalId) else { return nil }
        let keys: Value = .vector((0..<scenario.keys).map { .int($0) })
        history.record(process: .client(process), type: .invoke, f: mode.rawValue, value: keys)
        history.record(process: .client(process), type: .ok, f: mode.rawValue, value: keys)
        return client
    }

    private func invoke(_ operation: QueueOperation, process: Int) {
        switch operation {
        case .crash: history.record(process: .client(process), type: .invoke, f: "crash", value: .null)
        case .poll: history.record(process: .client(process), type: .invoke, f: "poll", value: Self.pollInvoke)
        case let .send(key, value): history.record(process: .client(process), type: .invoke, f: "send", value: Self.sent(key, value))
        case let .txn(steps, _): history.record(process: .client(process), type: .invoke, f: "txn", value: Self.invoked(steps))
        }
    }

    private static func invoked(_ steps: [TxnStep]) -> Value {
        .vector(steps.map { step in
            switch step {
            case .poll: return .vector([.string("poll")])
            case let .send(key, value): return .vector([.string("send"), .int(key), .int(value)])
            }
        })
    }

    private static let pollInvoke: Value = .vector([.vector([.string("poll")])])
    private static func polled(_ read: [Int: [(offset: Int64, value: Int)]]) -> Value {
        let entries = read.keys.sorted().map { key in
            Value.MapEntry(.string(String(key)), .vector(read[key]!.map { .vector([.int(Int($0.offset)), .int($0.value)]) }))
        }
        return .vector([.string("poll"), .map(entries)])
    }
    private static func sent(_ key: Int, _ value: Int) -> Value { .vector([.vector([.string("send"), .int(key), .int(value)])]) }

    /// Performs one invoked operation and records its completion; false when the process must be replaced (it
    /// crashed, or an operation ended info).
    private func perform(_ operation: QueueOperation, process: Int, client: QueueClient) -> Bool {
        switch operation {
        case .crash:
            history.record(process: .client(process), type: .info, f: "crash", value: .null)
            count("crash")
            return false
        case .poll:
            complete(poll: client.poll(waitMs: 100), process: process, client: client)
            return true
        case let .txn(steps, abort):
            return perform(steps, abort: abort, process: process, client: client)
        case let .send(key, value):
            switch client.send(key: key, value: value) {
            case .ok(let offset):
                history.record(process: .client(process), type: .ok, f: "send",
                               value: .vector([.vector([.string("send"), .int(key), .vector([.int(Int(offset)), .int(value)])])]))
                raise(key, to: offset)
                acknowledged.withLockedValue { _ = $0[key, default: []].insert(value) }
                count("send ok")
                return true
            case .fail(let error):
                history.record(process: .client(process), type: .fail, f: "send", value: Self.sent(key, value))
                count("send fail \(error)")
                return true
            case .info(let error):
                history.record(process: .client(process), type: .info, f: "send", value: Self.sent(key, value))
                count("send info \(error)")
                return false
            }
        }
    }

    /// One poll, invoked and completed (the final reads'); returns what it read.
    @discardableResult
    func poll(process: Int, client: QueueClient, waitMs: Int32) -> [Int: [(offset: Int64, value: Int)]] {
        history.record(process: .client(process), type: .invoke, f: "poll", value: Self.pollInvoke)
        let read = client.poll(waitMs: waitMs)
        complete(poll: read, process: process, client: client)
        return read
    }

    private func complete(poll read: [Int: [(offset: Int64, value: Int)]], process: Int, client: QueueClient) {
        history.record(process: .client(process), type: .ok, f: "poll", value: .vector([Self.polled(read)]),
                       extra: Self.rebalanceLog(client))
        noteRead(read)
        count("poll ok")
    }

    /// Jepsen's `rebalance-log` for an operation during which the consumer was rebalanced: its keys may skip or
    /// go back within the operation.
    private static func rebalanceLog(_ client: QueueClient) -> [Value.MapEntry] {
        let keys = client.takeRebalancedKeys()
        guard !keys.isEmpty else { return [] }
        return [.init(.string("rebalance-log"), .vector([.map([.init(.string("keys"), .vector(keys.map(Value.int)))])]))]
    }

    private func noteRead(_ read: [Int: [(offset: Int64, value: Int)]]) {
        for (key, pairs) in read { if let last = pairs.map(\.offset).max() { raise(key, to: last) } }
    }

    /// Performs one transaction and records how it ended; false when the process must be replaced.
    private func perform(_ steps: [TxnStep], abort: Bool, process: Int, client: QueueClient) -> Bool {
        switch client.transact(steps, abort: abort) {
        case .committed(let completed):
            let mops = completed.map { step -> Value in
                switch step {
                case let .send(key, value, offset):
                    raise(key, to: offset)
                    acknowledged.withLockedValue { _ = $0[key, default: []].insert(value) }
                    count("txn send ok")
                    return .vector([.string("send"), .int(key), .vector([.int(Int(offset)), .int(value)])])
                case .poll(let read):
                    noteRead(read)
                    return Self.polled(read)
                }
            }
            history.record(process: .client(process), type: .ok, f: "txn", value: .vector(mops), extra: Self.rebalanceLog(client))
            count("txn ok")
            return true
        case let .aborted(why, replace):
            history.record(process: .client(process), type: .fail, f: "txn", value: Self.invoked(steps), extra: Self.rebalanceLog(client))
            count(why == "planned" ? "txn aborted" : "txn fail \(why.prefix(60))")
            return !replace
        case .unknown(let why):
            history.record(process: .client(process), type: .info, f: "txn", value: Self.invoked(steps), extra: Self.rebalanceLog(client))
            count("txn info \(why.prefix(60))")
            return false
        }
    }

    private func raise(_ key: Int, to offset: Int64) {
        highestOffsets.withLockedValue { $0[key] = max($0[key] ?? -1, offset) }
    }

    private func count(_ outcome: String) {
        counts.withLockedValue { $0[outcome, default: 0] += 1 }
    }
}
