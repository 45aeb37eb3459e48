// What DescribeQuorum (`kafka-metadata-quorum describe --status/--replication`) reports.

/// One replica's progress as the leader sees it.
public struct ReplicaStatus: Hashable, Sendable {
    public var nodeID: RaftNodeID
    public var isVoter: Bool
    /// The replica's flushed log end offset from its last valid Fetch; nil until it has fetched.
    public var logEndOffset: Int64?
    /// When it last fetched (the leader's own entry uses the current time).
    public var lastFetchMs: Int64?
}

extension RaftNode {
    /// On the leader: itself, then every voter and observer it has heard from, by id. Empty elsewhere, since
    /// only the leader knows the others' positions.
    public var replicaStatus: [ReplicaStatus] {
        guard let leader = quorum.current as? LeaderState else { return [] }
        let others = leader.replicas.keys.sorted().map { id in
            ReplicaStatus(nodeID: id, isVoter: config.voters.contains(id), logEndOffset: leader.replicas[id]?.endOffset,
                          lastFetchMs: leader.replicas[id]?.lastFetchMs)
        }
        return [ReplicaStatus(nodeID: config.nodeID, isVoter: true, logEndOffset: log.endOffset, lastFetchMs: nowMs)]
            + others
    }
}
