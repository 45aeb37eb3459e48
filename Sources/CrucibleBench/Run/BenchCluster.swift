import CrucibleClient
import CrucibleProtocol
import Foundation
import NIOCore

/// The cluster a benchmark runs against. The command-line layer implements it: a local cluster it starts (and
/// can kill nodes of, and read CPU and memory from), or any Kafka-protocol cluster named by bootstrap servers.
public protocol BenchCluster: AnyObject {
    var bootstrapServers: String { get }
    /// Node id to process id for brokers this run started; empty for a cluster it did not start.
    var brokerProcesses: [Int32: Int32] { get }
    /// A directory on the brokers' filesystem (calibrating disk and page cache); nil for a remote cluster.
    var dataDirectory: String? { get }
    func kill(node: Int32) throws
    func start(node: Int32) throws
}

/// A cluster the benchmark did not start: it touches nothing but the topics it creates.
public final class RemoteCluster: BenchCluster {
    public let bootstrapServers: String
    public init(bootstrapServers: String) { self.bootstrapServers = bootstrapServers }
    public var brokerProcesses: [Int32: Int32] { [:] }
    public var dataDirectory: String? { nil }
    public func kill(node: Int32) throws { throw BenchFailure("cannot kill node \(node) of a cluster this run did not start") }
    public func start(node: Int32) throws { throw BenchFailure("cannot start node \(node) of a cluster this run did not start") }
}

public struct BenchFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The benchmark's own topics: created with the driver's settings, sized through DescribeLogDirs (so the
/// compression ratio is measured the same way on any cluster), deleted afterwards.
struct BenchTopics {
    let names: [String]
    let partitions: Int

    static func create(prefix: String, count: Int, partitions: Int, replicationFactor: Int, configs: [(String, String)],
                       bootstrap: String) throws -> BenchTopics {
        let client = try KafkaClient(bootstrap: bootstrap, clientId: "crucible-bench-admin", requestTimeout: .seconds(60))
        defer { client.close() }
        let brokers = try client.refreshMetadata(topics: []).brokers.count
        if replicationFactor > brokers {
            throw BenchFailure("replicationFactor \(replicationFactor) is more than the \(brokers) broker(s) at \(bootstrap)")
        }
        let names = (0..<count).map { "\(prefix)-\(String(format: "%04d", $0))" }
        for name in names {
            try client.createTopic(TopicCreation(name: name, partitions: Int32(partitions),
                                                 replicationFactor: Int16(replicationFactor), configs: configs))
        }
        // Wait until every partition has a leader, so the first sends do not measure topic creation.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let metadata = try client.refreshMetadata(topics: names)
            let ready = names.allSatisfy { name in
                guard let topic = metadata.topics[name], topic.partitions.count == partitions else { return false }
                return topic.partitions.allSatisfy { $0.leader >= 0 }
            }
            if ready { return BenchTopics(names: names, partitions: partitions) }
            usleep(100_000)
        }
        throw BenchFailure("the benchmark's topics did not all get leaders within 60 s")
    }

    /// Bytes stored per topic-partition, one replica each (the largest, which has everything acknowledged).
    func storedBytes(bootstrap: String) throws -> Int64 {
        let client = try KafkaClient(bootstrap: bootstrap, clientId: "crucible-bench-admin", requestTimeout: .seconds(30))
        defer { client.close() }
        let brokers = try client.refreshMetadata(topics: names).brokers.keys
        var largest: [TopicPartition: Int64] = [:]
        for broker in brokers {
            for dir in try client.describeLogDirs(broker: broker, topics: names) where dir.error == .none {
                for replica in dir.replicas where !replica.isFuture {
                    largest[replica.partition] = max(largest[replica.partition] ?? 0, replica.size)
                }
            }
        }
        return largest.values.reduce(0, +)
    }

    func leader(topic: String, partition: Int32, bootstrap: String) throws -> Int32? {
        let client = try KafkaClient(bootstrap: bootstrap, clientId: "crucible-bench-admin", requestTimeout: .seconds(5))
        defer { client.close() }
        return try client.refreshMetadata(topics: [topic]).leader(of: TopicPartition(topic, partition))
    }

    func delete(bootstrap: String) -> [String] {
        guard let client = try? KafkaClient(bootstrap: bootstrap, clientId: "crucible-bench-admin", requestTimeout: .seconds(60)) else {
            return ["cannot connect to \(bootstrap) to delete the benchmark's topics \(names.joined(separator: ", "))"]
        }
        defer { client.close() }
        var problems: [String] = []
        for name in names {
            do { try client.deleteTopic(name) } catch { problems.append("deleting topic \(name): \(error)") }
        }
        return problems
    }
}
