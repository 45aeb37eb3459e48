import CrucibleClient
import CrucibleSecurity
import CrucibleWorkload
import Foundation

/// The cluster a verification run breaks. The command-line layer implements it for a local cluster it starts;
/// the nemesis only needs to signal nodes and the run to collect their logs.
public protocol VerifyCluster: AnyObject {
    var bootstrapServers: String { get }
    var nodeIds: [Int32] { get }
    /// One node's client listener, `host:port`.
    func address(of node: Int32) -> String?
    /// SIGKILL, then start again (the same node, its data kept).
    func kill(node: Int32) throws
    func start(node: Int32) throws
    /// SIGSTOP and SIGCONT.
    func pause(node: Int32) throws
    func resume(node: Int32) throws
    /// Makes each node drop (all, or a share of) what arrives from the nodes `cut` names (clients still reach
    /// every node); replaces any earlier cut. Throws when the cluster's nodes do not have hosts of their own.
    func cut(_ cut: NetworkCut) throws
    func healPartitions() throws
    /// Sets a node's wall clock `offsetSeconds` away from true time (0 puts it back). Throws when the cluster's
    /// nodes were not started with movable clocks.
    func setClock(node: Int32, offsetSeconds: Int) throws
    /// Makes a node's writes or fsyncs in its log directory fail (nil: mends it). Throws when the cluster's nodes
    /// were not started with the disk-fault library.
    func setDiskFault(node: Int32, _ fault: DiskFault?) throws
    /// Copies every node's log into `directory` (one file per node).
    func collectLogs(into directory: String)
    /// What a client needs to connect to a cluster crucible started with TLS or SASL (librdkafka's keys); the
    /// scenario's `commonConfig` goes over it.
    var clientProperties: [Driver.Property] { get }
    /// Each node's `/metrics`, scraped every second of a run into `broker-metrics.json`; empty when none is known.
    var metricsURLs: [Int32: String] { get }
}

extension VerifyCluster {
    public var clientProperties: [Driver.Property] { [] }
    public var metricsURLs: [Int32: String] { [:] }
}

/// Where a key's partition and the controller are now, asked of the cluster itself when a nemesis step resolves
/// its target (leaders move under faults).
struct ClusterView {
    let cluster: VerifyCluster
    let topic: String
    /// The run's consumer group and its clients' transactional ids, whose coordinators a nemesis may target.
    var group = ""
    var transactionalIds: [String] = []
    /// Nodes not to ask: a paused node accepts connections and answers nothing, and asking it cost a nemesis
    /// step seconds of timeouts (a kill meant for second 11 landed at second 21).
    var unreachable: () -> Set<Int32> = { [] }
    var security: ClientSecurity = .plaintext

    private func client() -> KafkaClient? {
        try? KafkaClient(bootstrap: bootstrap, clientId: "crucible-nemesis", requestTimeout: .seconds(3), security: security)
    }

    private var bootstrap: String {
        let skip = unreachable()
        let reachable = cluster.nodeIds.filter { !skip.contains($0) }.compactMap { cluster.address(of: $0) }
        return reachable.isEmpty ? cluster.bootstrapServers : reachable.joined(separator: ",")
    }

    /// Leader and other replicas of `key`'s partition, nil when no live broker answers.
    func replicas(key: Int) -> (leader: Int32, others: [Int32])? {
        guard let client = client() else { return nil }
        defer { client.close() }
        guard let metadata = try? client.refreshMetadata(topics: [topic]),
              let partition = metadata.topics[topic]?.partitions.first(where: { $0.partition == Int32(key) }) else { return nil }
        return (partition.leader, partition.replicas.filter { $0 != partition.leader })
    }

    /// The metadata quorum's leader (the active controller), nil while there is none.
    func activeController() -> Int32? {
        guard let client = client() else { return nil }
        defer { client.close() }
        guard let quorum = try? client.describeQuorum(), quorum.leaderId >= 0 else { return nil }
        return quorum.leaderId
    }

    /// The coordinator of a group (key type 0) or transactional id (1), nil when no live broker names one.
    func coordinator(of key: String, keyType: Int8) -> Int32? {
        guard let client = client() else { return nil }
        defer { client.close() }
        return try? client.coordinatorNode(of: key, keyType: keyType)
    }
}
