// The Kafka-queue checker: Jepsen's jepsen.tests.kafka analysis as a pure function of a history.
import Foundation

public struct KafkaCheckOptions: Sendable {
    /// Anomaly types reported but not counted against validity. Jepsen always allows int-send-skip:
    /// transactional producers interleave, so one transaction's sends need not be adjacent; and the cycles
    /// G0 and G1c, which Kafka's transactions do not prevent.
    public var allowedAnomalies: Set<String> = KafkaCheckOptions.alwaysAllowed
    public static let alwaysAllowed: Set<String> = ["int-send-skip", "G0", "G1c"]
    /// With subscribe, the group coordinator may move partitions between consumers at any moment, so a
    /// consumer legitimately skips or repeats; Jepsen then allows poll-skip and nonmonotonic-poll.
    /// nil: decide from the history (true when it contains a subscribe operation).
    public var allowRebalanceAnomalies: Bool? = nil
    /// Run the finders on every core (the default). One thread when the work must not depend on scheduling: the
    /// regression gate counts the checker's instructions.
    public var concurrent = true

    public init(allowedAnomalies: Set<String> = KafkaCheckOptions.alwaysAllowed, allowRebalanceAnomalies: Bool? = nil,
                concurrent: Bool = true) {
        self.allowedAnomalies = allowedAnomalies
        self.allowRebalanceAnomalies = allowRebalanceAnomalies
        self.concurrent = concurrent
    }
}

public enum KafkaChecker {
    public static let anomalyTypes = [
        "inconsistent-offsets", "duplicate", "lost-write", "unseen", "G1a", "precommitted-read",
        "poll-skip", "nonmonotonic-poll", "int-poll-skip", "int-nonmonotonic-poll",
        "nonmonotonic-send", "int-send-skip", "int-nonmonotonic-send", "G0", "G1c",
    ]

    public static func check(_ history: History, options: KafkaCheckOptions = KafkaCheckOptions()) throws -> Analysis {
        check(operations: try KafkaHistoryDecoder.decode(history), options: options)
    }

    public static func check(operations ops: [KafkaOperation], options: KafkaCheckOptions = KafkaCheckOptions()) -> Analysis {
        let ctx = KafkaContext(ops: ops)
        let finders: [@Sendable (KafkaContext) -> [Anomaly]] = [
            LogAnomalies.inconsistentOffsets, LogAnomalies.duplicates, LogAnomalies.abortedReads,
            LogAnomalies.precommittedReads, LossAnomalies.lostWrites, LossAnomalies.unseen,
            OrderAnomalies.pollOrder, OrderAnomalies.sendOrder, OrderAnomalies.internalOrder, CycleAnomalies.cycles,
        ]
        // The finders only read the shared facts: each runs on whichever core is free, and their findings keep
        // the finders' order.
        let found = ResultSlots<[Anomaly]>(count: finders.count)
        nonisolated(unsafe) let shared = ctx
        let find: @Sendable (Int) -> Void = { i in found.set(i, finders[i](shared)) }
        if options.concurrent { DispatchQueue.concurrentPerform(iterations: finders.count, execute: find) } else { finders.indices.forEach(find) }
        var anomalies = found.all.flatMap { $0 }
        let rank = Dictionary(uniqueKeysWithValues: anomalyTypes.enumerated().map { ($1, $0) })
        anomalies = anomalies.enumerated().sorted {
            (rank[$0.element.type] ?? 99, $0.offset) < (rank[$1.element.type] ?? 99, $1.offset)
        }.map(\.element)

        let subscribes = ops.contains { $0.f == .subscribe }
        var allowed = options.allowedAnomalies
        if options.allowRebalanceAnomalies ?? subscribes { allowed.formUnion(["poll-skip", "nonmonotonic-poll"]) }
        let bad = anomalies.contains { !allowed.contains($0.type) }

        var counts: [OperationType: Int] = [:]
        var sent = 0, polled = 0
        for op in ops {
            counts[op.type, default: 0] += 1
            op.sends { _, _ in sent += 1 }
            op.reads { _, _ in polled += 1 }
        }
        let stats: [(String, Value)] = [
            ("operations", .int(ops.count)),
            ("ok", .int(counts[.ok] ?? 0)), ("info", .int(counts[.info] ?? 0)), ("fail", .int(counts[.fail] ?? 0)),
            ("partitions", .int(ctx.orders.count)),
            ("messages-sent", .int(sent)), ("messages-polled", .int(polled)),
            ("rebalance-anomalies-allowed", .bool(allowed.contains("poll-skip"))),
        ]
        return Analysis(checker: "kafka", validity: bad ? .invalid : .valid, anomalies: anomalies,
                        allowedTypes: allowed, stats: stats)
    }
}

