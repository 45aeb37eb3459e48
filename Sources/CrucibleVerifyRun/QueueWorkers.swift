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
                                                     rate: scenario.rate, crashIntervalSeconds: scenario.crashIntervalSeconds))
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

    /// Opens a process's clients and records its assign or subscribe; nil (and nothing recorded) when librdkafka
    /// refuses to start.
    func open(process: Int, mode: Scenario.ConsumeMode? = nil) -> QueueClient? {
        let mode = mode ?? scenario.mode
        guard let client = try? QueueClient(process: process, bootstrap: bootstrap, topic: topic, keys: scenario.keys,
                                            scenario: scenario, group: group, subscribe: mode == .subscribe) else { return nil }
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
        }
    }

    private static let pollInvoke: Value = .vector([.vector([.string("poll")])])
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
            complete(poll: client.poll(waitMs: 100), process: process)
            return true
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
        complete(poll: read, process: process)
        return read
    }

    private func complete(poll read: [Int: [(offset: Int64, value: Int)]], process: Int) {
        let entries = read.keys.sorted().map { key in
            Value.MapEntry(.string(String(key)), .vector(read[key]!.map { .vector([.int(Int($0.offset)), .int($0.value)]) }))
        }
        history.record(process: .client(process), type: .ok, f: "poll", value: .vector([.vector([.string("poll"), .map(entries)])]))
        for (key, pairs) in read { if let last = pairs.map(\.offset).max() { raise(key, to: last) } }
        count("poll ok")
    }

    private func raise(_ key: Int, to offset: Int64) {
        highestOffsets.withLockedValue { $0[key] = max($0[key] ?? -1, offset) }
    }

    private func count(_ outcome: String) {
        counts.withLockedValue { $0[outcome, default: 0] += 1 }
    }
}
