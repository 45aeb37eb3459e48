import ArgumentParser
import CrucibleClient
import CrucibleProtocol
import Foundation

/// Set by SIGINT/SIGTERM so the consumer stops between fetches and still reports its count, as Kafka's does.
nonisolated(unsafe) private var consumerInterrupted: sig_atomic_t = 0

/// `kafka-console-consumer.sh`: reads every partition (or one) and prints the records; with `--group`, reads the
/// partitions the group assigns it, from the group's committed offsets, committing as it goes.
struct ConsoleConsumerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console-consumer", abstract: "Print records of a topic (as kafka-console-consumer.sh).")

    @OptionGroup var server: BootstrapServer

    @Option(name: .long, help: "The topic to read.") var topic: String
    @Flag(name: .long, help: "Start at the earliest offset rather than the end.") var fromBeginning = false
    @Option(name: .long, help: "Read only this partition.") var partition: Int32?
    @Option(name: .long, help: "With --partition: an offset, earliest or latest.") var offset: String?
    @Option(name: .long, help: "Exit after this many records.") var maxMessages: Int?
    @Option(name: .long, help: "Exit when no record arrives for this many ms.") var timeoutMs: Int?
    @Option(name: .long, help: "Formatter property: print.key, print.timestamp, print.offset, print.partition, print.headers, print.value, key.separator, line.separator (repeatable).")
    var property: [String] = []
    @Option(name: .long, help: "Consume as a member of this consumer group, from its committed offsets.") var group: String?
    @Option(name: .long, help: "Consumer config K=V: group.id, client.id, enable.auto.commit, auto.commit.interval.ms, auto.offset.reset, session.timeout.ms, heartbeat.interval.ms, max.poll.interval.ms, group.instance.id (repeatable).")
    var consumerProperty: [String] = []
    @Option(name: .customLong("consumer.config"), help: "Consumer properties file (security settings too).")
    var consumerConfig: String?

    func run() throws {
        var consumerProperties = try consumerConfig.map { try loadClientProperties($0) } ?? [:]
        consumerProperties.merge(try Tool.properties(consumerProperty, flag: "--consumer-property")) { _, own in own }
        let groupId = try self.groupId(consumerProperties)
        if groupId != nil, partition != nil {
            throw UsageError("--partition: options group and partition cannot be specified together")
        }
        if offset != nil, partition == nil { throw UsageError("--offset: the partition is required when offset is specified") }
        if offset != nil, fromBeginning { throw UsageError("--offset: options from-beginning and offset cannot be specified together") }
        if let maxMessages, maxMessages < 1 { throw UsageError("--max-messages \(maxMessages): must be at least 1") }
        if let timeoutMs, timeoutMs < 0 { throw UsageError("--timeout-ms \(timeoutMs): must not be negative") }
        let reset = try offsetReset(consumerProperties)
        let formatter = try MessageFormatter(try Tool.properties(property, flag: "--property"))
        let client = try server.connect(clientId: consumerProperties["client.id"] ?? "console-consumer",
                                        properties: consumerProperties)
        defer { client.close() }
        signal(SIGINT) { _ in consumerInterrupted = 1 }
        signal(SIGTERM) { _ in consumerInterrupted = 1 }
        var processed = 0
        defer { Tool.printError("Processed a total of \(processed) messages") }
        do {
            if let groupId {
                let session = try ConsumerGroupSession(client: client, group: groupId, topic: topic, reset: reset,
                                                       properties: consumerProperties)
                var positions = try session.start()
                defer { session.close(positions) }
                try consume(client, &positions, formatter, reset: reset, processed: &processed) { positions in
                    try session.maintain(&positions)
                }
            } else {
                var positions = try startPositions(client)
                try consume(client, &positions, formatter, reset: reset, processed: &processed) { _ in }
            }
        } catch let error as KafkaClientError {
            Tool.printError("ERROR Error processing message, terminating consumer process: \(error)")
            throw ExitCode(1)
        }
    }

    /// `--group` or the `group.id` consumer property; both given must agree, as in Kafka.
    private func groupId(_ properties: [String: String]) throws -> String? {
        let given = Set([group, properties["group.id"]].compactMap { $0 })
        guard given.count <= 1 else {
            throw UsageError("--group: The group ids provided in different places (directly using '--group', via "
                             + "'--consumer-property') do not match. Detected group ids: "
                             + given.sorted().map { "'\($0)'" }.joined(separator: ", "))
        }
        return given.first
    }

    /// Kafka's auto.offset.reset: the property when given (it must agree with --from-beginning), else earliest
    /// with --from-beginning and latest without.
    private func offsetReset(_ properties: [String: String]) throws -> OffsetSpec {
        switch properties["auto.offset.reset"]?.lowercased() {
        case nil: return fromBeginning ? .earliest : .latest
        case "earliest": return .earliest
        case "latest" where !fromBeginning: return .latest
        case let other?:
            if fromBeginning {
                throw UsageError("--consumer-property: Can't simultaneously specify --from-beginning and "
                                 + "'auto.offset.reset=\(other)', please remove one option")
            }
            throw UsageError("--consumer-property auto.offset.reset=\(other): expected earliest or latest")
        }
    }

    private func startPositions(_ client: KafkaClient) throws -> [TopicPartition: Int64] {
        let metadata = try client.refreshMetadata(topics: [topic])
        guard let described = metadata.topics[topic], described.error == .none else {
            throw KafkaClientError.kafka(metadata.topics[topic]?.error ?? .unknownTopicOrPartition, message: "topic \(topic)")
        }
        var partitions = described.partitions.map { TopicPartition(topic, $0.partition) }
        if let partition {
            guard partitions.contains(TopicPartition(topic, partition)) else {
                throw UsageError("--partition \(partition): topic \(topic) has partitions 0..<\(partitions.count)")
            }
            partitions = [TopicPartition(topic, partition)]
        }
        switch offset {
        case nil: return try client.listOffsets(partitions, fromBeginning ? .earliest : .latest)
        case "earliest"?: return try client.listOffsets(partitions, .earliest)
        case "latest"?: return try client.listOffsets(partitions, .latest)
        case let text?:
            guard let start = Int64(text), start >= 0 else {
                throw UsageError("--offset \(text): expected a non-negative number, earliest or latest")
            }
            return [partitions[0]: start]
        }
    }

    /// Fetches and prints until --max-messages, --timeout-ms without records, or a signal. `positions` ends at
    /// the record after the last one printed (what a group commits); `beforeFetch` may move them (a rebalance).
    private func consume(_ client: KafkaClient, _ positions: inout [TopicPartition: Int64], _ formatter: MessageFormatter,
                         reset: OffsetSpec, processed: inout Int,
                         beforeFetch: (inout [TopicPartition: Int64]) throws -> Void) throws {
        var lastRecordAt = ContinuousClock.now
        while consumerInterrupted == 0 {
            var waitMs = 500
            if let timeoutMs {
                let remaining = timeoutMs - Tool.elapsedMs(since: lastRecordAt)
                if remaining <= 0 { return }
                waitMs = min(waitMs, remaining)
            }
            try beforeFetch(&positions)
            guard !positions.isEmpty else {
                // A group member without partitions waits for the next rebalance.
                Thread.sleep(forTimeInterval: Double(waitMs) / 1000)
                continue
            }
            var output: [UInt8] = []
            var staleMetadata = false
            for (partition, fetched) in try client.fetch(positions, maxWaitMs: Int32(waitMs)).sorted(by: { $0.key < $1.key }) {
                switch fetched.error {
                case .none:
                    let (records, next) = try fetched.records(from: positions[partition]!)
                    for record in records {
                        formatter.write(record, to: &output)
                        positions[partition] = record.offset + 1
                        processed += 1
                        if processed == maxMessages { break }
                    }
                    if processed != maxMessages { positions[partition] = next }
                    if !records.isEmpty { lastRecordAt = .now }
                case .offsetOutOfRange:
                    positions[partition] = try client.listOffsets([partition], reset)[partition]
                case let error where error.isStaleMetadata:
                    staleMetadata = true
                case let error:
                    throw KafkaClientError.kafka(error, message: "fetching \(partition)")
                }
                if processed == maxMessages { break }
            }
            FileHandle.standardOutput.write(Data(output))
            if processed == maxMessages { return }
            if staleMetadata {
                Thread.sleep(forTimeInterval: 0.1)
                try client.refreshMetadata(topics: [topic])
            }
        }
    }
}
