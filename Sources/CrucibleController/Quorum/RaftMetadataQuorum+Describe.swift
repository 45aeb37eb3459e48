import CrucibleProtocol
import CrucibleRaft
import NIOCore

/// DescribeQuorum (`metadata-quorum describe --status/--replication`): only the leader knows every replica's
/// progress, so another node answers NOT_LEADER_OR_FOLLOWER with the leader it knows.
extension RaftMetadataQuorum {
    public func describe() -> EventLoopFuture<DescribeQuorumResponse> {
        eventLoop.submit { [self] in
            var partition = DescribeQuorumResponse.PartitionData()
            partition.leaderId = node?.leaderID ?? -1
            partition.leaderEpoch = node?.epoch ?? 0
            partition.errorMessage = nil
            if let node, node.role == .leader, !stopped {
                partition.highWatermark = node.highWatermark
                let replicas = replicaStates(node)
                partition.currentVoters = replicas.filter { config.voters.contains($0.replicaId) }
                partition.observers = replicas.filter { !config.voters.contains($0.replicaId) }
            } else {
                partition.errorCode = ErrorCode.notLeaderOrFollower.rawValue
                partition.highWatermark = node?.highWatermark ?? -1
            }
            var topic = DescribeQuorumResponse.TopicData()
            topic.topicName = RaftWire.topicName
            topic.partitions = [partition]
            var response = DescribeQuorumResponse()
            response.errorMessage = nil
            response.topics = [topic]
            return response
        }
    }

    /// Every voter (those not heard from yet with unknown progress) and every observer that fetched, with the
    /// core's monotonic fetch times turned into wall-clock timestamps.
    private func replicaStates(_ node: RaftNode) -> [DescribeQuorumResponse.ReplicaState] {
        let status = Dictionary(node.replicaStatus.map { ($0.nodeID, $0) }, uniquingKeysWith: { first, _ in first })
        let ids = Set(config.voters).union(status.keys).sorted()
        let wallOffset = Self.wallClockMs() - Self.nowMs()
        return ids.map { id in
            var state = DescribeQuorumResponse.ReplicaState()
            state.replicaId = id
            state.logEndOffset = status[id]?.logEndOffset ?? -1
            if let fetched = status[id]?.lastFetchMs {
                state.lastFetchTimestamp = fetched + wallOffset
                if state.logEndOffset >= node.highWatermark { state.lastCaughtUpTimestamp = fetched + wallOffset }
            }
            return state
        }
    }
}
