import CrucibleProtocol
import CrucibleSecurity
import NIOCore
import NIOPosix

/// A small blocking Kafka client for the command-line tools and the harness: one connection per broker,
/// metadata to find partition leaders, and one typed call per API the tools use. Calls block the calling thread
/// (never call them on an event loop) and each has a deadline. Not thread-safe: one caller at a time.
public final class KafkaClient {
    public let clientId: String
    /// Deadline for one request's answer (a long-poll Fetch gets its wait on top).
    public let requestTimeout: TimeAmount
    /// TLS and SASL for every connection (a `--command-config` file's settings).
    public let security: ClientSecurity
    private let bootstrapServers: [(host: String, port: Int)]
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var connections: [Int32: BrokerConnection] = [:]
    private var bootstrapConnection: BrokerConnection?
    public private(set) var metadata: ClusterMetadata?

    /// `bootstrap` is Kafka's `host:port[,host:port...]`. Connects to the first server that answers.
    public init(bootstrap: String, clientId: String = "crucible", requestTimeout: TimeAmount = .seconds(30),
                security: ClientSecurity = .plaintext) throws {
        self.clientId = clientId
        self.security = security
        self.requestTimeout = requestTimeout
        bootstrapServers = try Self.parseServers(bootstrap)
        var lastError: Error = KafkaClientError.connection("no bootstrap server")
        for server in bootstrapServers {
            do {
                bootstrapConnection = try BrokerConnection.connect(host: server.host, port: server.port, group: group,
                                                                   clientId: clientId, timeout: .seconds(10), security: security)
                return
            } catch {
                lastError = error
            }
        }
        try? group.syncShutdownGracefully()
        throw lastError
    }

    deinit {
        close()
    }

    private var isClosed = false

    /// Closes every connection and stops the event loop; later calls do nothing.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        for connection in connections.values { connection.close() }
        bootstrapConnection?.close()
        connections = [:]
        bootstrapConnection = nil
        try? group.syncShutdownGracefully()
    }

    /// Splits `host:port,host:port`; a missing port or a bad one is a usage problem the caller reports.
    public static func parseServers(_ text: String) throws -> [(host: String, port: Int)] {
        let servers = try text.split(separator: ",").map { entry -> (host: String, port: Int) in
            let trimmed = String(entry.filter { !$0.isWhitespace })
            guard let colon = trimmed.lastIndex(of: ":"), let port = Int(trimmed[trimmed.index(after: colon)...]),
                  (1...65535).contains(port), colon > trimmed.startIndex else {
                throw BootstrapError(text: String(entry))
            }
            var host = String(trimmed[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            return (host, port)
        }
        guard !servers.isEmpty else { throw BootstrapError(text: text) }
        return servers
    }

    public struct BootstrapError: Error, CustomStringConvertible {
        public let text: String
        public var description: String { "invalid bootstrap server \"\(text)\": expected HOST:PORT[,HOST:PORT...]" }
    }

    // MARK: Connections

    /// Any live connection, for requests any broker can answer (metadata, admin requests).
    func anyConnection() throws -> BrokerConnection {
        if let connection = bootstrapConnection, connection.channel.isActive { return connection }
        if let connection = connections.values.first(where: { $0.channel.isActive }) { return connection }
        var lastError: Error = KafkaClientError.connection("no broker reachable")
        for server in bootstrapServers {
            do {
                let connection = try BrokerConnection.connect(host: server.host, port: server.port, group: group,
                                                              clientId: clientId, timeout: .seconds(10), security: security)
                bootstrapConnection = connection
                return connection
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// The connection to broker `nodeId`, opened on first use from the addresses in the last metadata.
    func connection(to nodeId: Int32) throws -> BrokerConnection {
        if let connection = connections[nodeId], connection.channel.isActive { return connection }
        if metadata?.brokers[nodeId] == nil { _ = try refreshMetadata(topics: nil) }
        guard let address = metadata?.brokers[nodeId] else {
            throw KafkaClientError.connection("broker \(nodeId) is not in the cluster metadata")
        }
        let connection = try BrokerConnection.connect(host: address.host, port: address.port, group: group,
                                                      clientId: clientId, timeout: .seconds(10), security: security)
        connections[nodeId]?.close()
        connections[nodeId] = connection
        return connection
    }

    /// Sends one request and waits for its answer.
    func call<Request: KafkaRequest>(_ request: Request, on connection: BrokerConnection,
                                     extraWait: TimeAmount = .zero) throws -> (Request.Response, Int16) {
        try connection.send(request, timeout: requestTimeout + extraWait).wait()
    }

    // MARK: Metadata

    /// Fetches metadata for `topics` (nil: every topic) and keeps it for leader lookups. A producer may ask the
    /// broker to create missing topics (when `auto.create.topics.enable` allows it).
    @discardableResult
    public func refreshMetadata(topics: [String]?, allowAutoTopicCreation: Bool = false) throws -> ClusterMetadata {
        var request = MetadataRequest()
        request.topics = topics?.map { name in
            var topic = MetadataRequest.MetadataRequestTopic()
            topic.name = name
            return topic
        }
        request.allowAutoTopicCreation = allowAutoTopicCreation
        let (response, _) = try call(request, on: try anyConnection())
        let fresh = ClusterMetadata(response)
        if var known = metadata, topics != nil {
            // Keep what we knew about other topics; brokers and controller come from the fresh answer.
            known.brokers = fresh.brokers
            known.controllerId = fresh.controllerId
            known.clusterId = fresh.clusterId
            known.topics.merge(fresh.topics) { _, new in new }
            metadata = known
        } else {
            metadata = fresh
        }
        return fresh
    }

    /// The leader of each partition, refreshing metadata once if any is unknown.
    func leaders(of partitions: some Collection<TopicPartition>) throws -> [Int32: [TopicPartition]] {
        if metadata == nil || partitions.contains(where: { metadata?.leader(of: $0) == nil }) {
            try refreshMetadata(topics: Array(Set(partitions.map(\.topic))))
        }
        var byLeader: [Int32: [TopicPartition]] = [:]
        for partition in partitions {
            guard let leader = metadata?.leader(of: partition) else {
                throw KafkaClientError.kafka(.leaderNotAvailable, message: "no leader for \(partition)")
            }
            byLeader[leader, default: []].append(partition)
        }
        return byLeader
    }

    /// Sends one request per leader at once and waits for all of them.
    func callLeaders<Request: KafkaRequest>(
        _ partitions: some Collection<TopicPartition>, extraWait: TimeAmount = .zero,
        _ makeRequest: (_ partitions: [TopicPartition], _ connection: BrokerConnection) throws -> Request
    ) throws -> [(Request.Response, Int16)] {
        let futures = try leaders(of: partitions).map { leader, owned in
            let connection = try connection(to: leader)
            return connection.send(try makeRequest(owned, connection), timeout: requestTimeout + extraWait)
        }
        return try futures.map { try $0.wait() }
    }
}
