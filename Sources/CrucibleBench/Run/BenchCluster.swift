import CrucibleClient
import CrucibleProtocol
import CrucibleSecurity
import CrucibleWorkload
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
    /// How many brokers the cluster has when whole: known for a cluster this run started, nil otherwise.
    var brokerCount: Int? { get }
    func kill(node: Int32) throws
    func start(node: Int32) throws
    /// Each node's `/metrics` URL, scraped during a benchmark's test; empty when none is known.
    var metricsURLs: [Int32: String] { get }
}

extension BenchCluster {
    public var metricsURLs: [Int32: String] { [:] }
}

/// A cluster the benchmark did not start: it touches nothing but the topics it creates.
public final class RemoteCluster: BenchCluster {
    public let bootstrapServers: String
    /// The nodes' `/metrics` (Kafka's JMX exporter, or Crucible's own), numbered from 1 in the order given.
    public let metricsURLs: [Int32: String]
    public init(bootstrapServers: String, metricsURLs: [String] = []) {
        self.bootstrapServers = bootstrapServers
        self.metricsURLs = Dictionary(uniqueKeysWithValues: metricsURLs.enumerated().map { (Int32($0 + 1), $1) })
    }
    public var brokerProcesses: [Int32: Int32] { [:] }
    public var dataDirectory: String? { nil }
    public var brokerCount: Int? { nil }
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
    /// The driver's client security (`commonConfig`), for the admin connections too.
    let security: ClientSecurity

    static func create(prefix: String, count: Int, partitions: Int, replicationFactor: Int, configs: [(String, String)],
                       bootstrap: String, security: ClientSecurity, wholeCluster: Int?, brokerWaitSeconds: TimeInterval = 60,
                       warn: (String) -> Void) throws -> BenchTopics {
        var client = try KafkaClient(bootstrap: bootstrap, clientId: "crucible-bench-admin", requestTimeout: .seconds(60),
                                 security: security)
        defer { client.close() }
        // A run starts on the whole cluster: a broker fenced under the previous run's load (or restarted by a
        // failover run) is back within seconds, and topics created without it would place no replica there.
        let wanted = max(replicationFactor, wholeCluster ?? 0)
        let waitStarted = Date()
        var brokers = try client.refreshMetadata(topics: []).brokers.count
        while brokers < wanted && Date().timeIntervalSince(waitStarted) < brokerWaitSeconds {
            usleep(250_000)
            brokers = try client.refreshMetadata(topics: []).brokers.count
        }
        if replicationFactor > brokers {
            throw BenchFailure("replicationFactor \(replicationFactor) is more than the \(brokers) broker(s) at \(bootstrap) "
                               + "(waited \(Int(brokerWaitSeconds)) s for more)")
        }
        let waited = Date().timeIntervalSince(waitStarted)
        if brokers < wanted {
            warn("\(brokers) of the cluster's \(wanted) brokers are serving: the run starts without the others")
        } else if waited >= 1 {
            warn(String(format: "waited %.0f s for all %d brokers to serve before the run", waited, wanted))
        }
        let names = (0..<count).map { "\(prefix)-\(String(format: "%04d", $0))" }
        for name in names {
            let creation = TopicCreation(name: name, partitions: Int32(partitions),
                                         replicationFactor: Int16(replicationFactor), configs: configs)
            // As Kafka's admin client: NOT_CONTROLLER (a controller election) and lost connections are retried
            // for a minute; an attempt that went through before its answer was lost finds the topic existing.
            let deadline = Date().addingTimeInterval(60)
            var attempt = 0
            while true {
                do {
                    try client.createTopic(creation)
                    break
                } catch let error as KafkaClientError where error.errorCode == .topicAlreadyExists && attempt > 0 {
                    break
                } catch let error as KafkaClientError where Date() < deadline && Self.worthRetrying(error) {
                    attempt += 1
                    usleep(250_000)
                    client.close()
                    client = try KafkaClient(bootstrap: bootstrap, clientId: "crucible-bench-admin", requestTimeout: .seconds(60),
                                 security: security)
                }
            }
        }
        // Wait until every partition has a leader, so the first sends do not measure topic creation.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let metadata = try client.refreshMetadata(topics: names)
            let ready = names.allSatisfy { name in
                guard let topic = metadata.topics[name], topic.partitions.count == partitions else { return false }
                return topic.partitions.allSatisfy { $0.leader >= 0 }
            }
            if ready { return BenchTopics(names: names, partitions: partitions, security: security) }
            usleep(100_000)
        }
        throw BenchFailure("the benchmark's topics did not all get leaders within 60 s")
    }

    private static func worthRetrying(_ error: KafkaClientError) -> Bool {
        switch error {
        case .kafka(let code, _): return code == .notController
        case .connection, .timedOut: return true
        case .unsupportedApi, .malformedResponse, .authentication: return false
        }
    }

    /// Bytes stored per topic-partition, one replica each (the largest, which has everything acknowledged).
    func storedBytes(bootstrap: String) throws -> Int64 {
        let client = try KafkaClient(bootstrap: bootstrap, clientId: "crucible-bench-admin", requestTimeout: .seconds(30),
                                     security: security)
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
        try leaderAndController(topic: topic, partition: partition, bootstrap: bootstrap).leader
    }

    /// The partition's leader and the active controller (-1 when the cluster names none), from one Metadata answer.
    func leaderAndController(topic: String, partition: Int32, bootstrap: String) throws -> (leader: Int32?, controller: Int32) {
        let client = try KafkaClient(bootstrap: bootstrap, clientId: "crucible-bench-admin", requestTimeout: .seconds(5),
                                     security: security)
        defer { client.close() }
        let metadata = try client.refreshMetadata(topics: [topic])
        return (metadata.leader(of: TopicPartition(topic, partition)), metadata.controllerId)
    }

    func delete(bootstrap: String) -> [String] {
        guard let client = try? KafkaClient(bootstrap: bootstrap, clientId: "crucible-bench-admin", requestTimeout: .seconds(60),
                                 security: security) else {
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

extension Driver {
    /// The security of the driver's `commonConfig` (Java's keys, or librdkafka's): how the benchmark's own admin
    /// connections reach a cluster that wants TLS or SASL.
    func clientSecurity() throws -> ClientSecurity {
        do {
            return try ClientSecurity(commonConfig)
        } catch {
            throw BenchFailure("\(name): commonConfig \(error)")
        }
    }
}
