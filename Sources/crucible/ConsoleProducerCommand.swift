import ArgumentParser
import CrucibleClient
import CrucibleRecords
import Foundation

/// `kafka-console-producer.sh`: one record per line of standard input.
struct ConsoleProducerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console-producer", abstract: "Send lines of standard input as records (as kafka-console-producer.sh).")

    @OptionGroup var server: BootstrapServer

    @Option(name: .long, help: "The topic to produce to.") var topic: String

    @Option(name: .long, help: "Line reader property: parse.key, key.separator, ignore.error, null.marker (repeatable).")
    var property: [String] = []

    @Option(name: .long, help: "Producer config K=V: acks, compression.type, linger.ms, batch.size (repeatable).")
    var producerProperty: [String] = []

    @Option(name: .customLong("producer.config"), help: "Producer properties file (security settings too).")
    var producerConfig: String?

    @Option(name: .long, help: "none, gzip, snappy, lz4 or zstd (overrides compression.type).")
    var compressionCodec: String?

    @Option(name: .long, help: "acks: -1/all, 0 or 1 (overrides the acks producer property).")
    var requestRequiredAcks: String?

    func run() throws {
        let reader = try LineFormat(try Tool.properties(property, flag: "--property"))
        var properties = try producerConfig.map { try loadClientProperties($0) } ?? [:]
        properties.merge(try Tool.properties(producerProperty, flag: "--producer-property")) { _, own in own }
        let settings = try ProducerSettings(properties, compressionCodec: compressionCodec, acks: requestRequiredAcks)
        let client = try server.connect(clientId: "console-producer", properties: properties)
        defer { client.close() }
        let partitionCount = partitionCount(client)
        var accumulator = RecordAccumulator(topic: topic, partitionCount: partitionCount, codec: settings.codec,
                                            batchBytes: settings.batchBytes)
        var input = StdinLines()
        var lineNumber = 0
        var firstPending: ContinuousClock.Instant?
        while !input.atEnd {
            let waitMs = firstPending.map { settings.lingerMs - Tool.elapsedMs(since: $0) } ?? 1000
            for line in try input.next(timeoutMs: Int32(clamping: waitMs)) {
                lineNumber += 1
                let key: [UInt8]?, value: [UInt8]?
                do {
                    (key, value) = try reader.split(line, lineNumber: lineNumber)
                } catch {
                    // The lines before the bad one are sent, as Kafka's producer has them in flight already.
                    try send(&accumulator, client, settings)
                    throw error
                }
                accumulator.append(key: key, value: value, timestamp: Int64(Date().timeIntervalSince1970 * 1000))
                firstPending = firstPending ?? .now
                if accumulator.isFull { try send(&accumulator, client, settings) }
            }
            if let started = firstPending, input.atEnd || Tool.elapsedMs(since: started) >= settings.lingerMs {
                try send(&accumulator, client, settings)
                firstPending = nil
            }
        }
        if !accumulator.isEmpty { try send(&accumulator, client, settings) }
    }

    private func send(_ accumulator: inout RecordAccumulator, _ client: KafkaClient, _ settings: ProducerSettings) throws {
        guard !accumulator.isEmpty else { return }
        let batches = try accumulator.drain()
        do {
            _ = try client.produce(batches, acks: settings.acks)
        } catch let error as KafkaClientError {
            Tool.fail("ERROR Error when sending message to topic \(topic) with error: \(error)")
        }
    }

    /// The topic's partition count. Asking with auto-creation allowed creates the topic where the broker's
    /// `auto.create.topics.enable` permits, as Kafka's producer does; it may take a moment to get leaders.
    private func partitionCount(_ client: KafkaClient) -> Int {
        var lastError = "Topic \(topic) not present in metadata"
        for _ in 0..<50 {
            do {
                let metadata = try client.refreshMetadata(topics: [topic], allowAutoTopicCreation: true)
                if let described = metadata.topics[topic], described.error == .none, !described.partitions.isEmpty,
                   described.partitions.allSatisfy({ $0.leader >= 0 }) {
                    return described.partitions.count
                }
                if let error = metadata.topics[topic]?.error, error != .none, !error.isStaleMetadata {
                    lastError = "\(error.name) for topic \(topic)"
                    break
                }
            } catch {
                lastError = "\(error)"
                break
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        Tool.fail("ERROR Error when sending message to topic \(topic): \(lastError)")
    }
}

/// How a line becomes a key and a value (Kafka's `LineMessageReader` properties).
struct LineFormat {
    var parseKey = false
    var keySeparator: [UInt8] = Array("\t".utf8)
    var ignoreError = false
    var nullMarker: [UInt8]?

    init(_ properties: [String: String]) throws {
        parseKey = try Tool.bool(properties, "parse.key", default: false, flag: "--property")
        ignoreError = try Tool.bool(properties, "ignore.error", default: false, flag: "--property")
        if let separator = properties["key.separator"] {
            guard !separator.isEmpty else { throw UsageError("--property key.separator: must not be empty") }
            keySeparator = Array(separator.utf8)
        }
        nullMarker = properties["null.marker"].map { Array($0.utf8) }
    }

    func split(_ line: [UInt8], lineNumber: Int) throws -> (key: [UInt8]?, value: [UInt8]?) {
        guard parseKey else { return (nil, orNull(line)) }
        guard let range = line.firstRange(of: keySeparator) else {
            if ignoreError { return (nil, orNull(line)) }
            throw UsageError("No key separator found on line number \(lineNumber): '\(String(decoding: line, as: UTF8.self))'")
        }
        return (orNull(Array(line[..<range.lowerBound])), orNull(Array(line[range.upperBound...])))
    }

    private func orNull(_ bytes: [UInt8]) -> [UInt8]? {
        bytes == nullMarker ? nil : bytes
    }
}

/// The producer configs the console producer honours, with Kafka's console-producer defaults.
struct ProducerSettings {
    /// Kafka's console producer sends with acks=all (`--request-required-acks` defaults to -1).
    var acks: Int16 = -1
    var codec: CompressionCodec = .none
    /// The console producer's `--timeout` default, which it passes as linger.ms.
    var lingerMs = 1000
    var batchBytes = 16384

    init(_ properties: [String: String], compressionCodec: String?, acks acksFlag: String?) throws {
        if let text = acksFlag ?? properties["acks"] {
            switch text.lowercased() {
            case "all", "-1": acks = -1
            case "0": acks = 0
            case "1": acks = 1
            default: throw UsageError("acks=\(text): expected all, -1, 0 or 1")
            }
        }
        if let name = compressionCodec ?? properties["compression.type"] {
            guard let codec = CompressionCodec(name: name) else {
                throw UsageError("compression.type=\(name): expected none, gzip, snappy, lz4 or zstd")
            }
            self.codec = codec
        }
        if let text = properties["linger.ms"] {
            guard let value = Int(text), value >= 0 else { throw UsageError("linger.ms=\(text): expected a number of ms") }
            lingerMs = value
        }
        if let text = properties["batch.size"] {
            guard let value = Int(text), value >= 0 else { throw UsageError("batch.size=\(text): expected bytes") }
            batchBytes = max(1, value)
        }
    }
}
