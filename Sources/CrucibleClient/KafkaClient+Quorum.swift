import CrucibleProtocol

/// The metadata quorum as its leader describes it (`kafka-metadata-quorum.sh describe`).
public struct QuorumDescription: Sendable {
    public struct Replica: Sendable {
        public var id: Int32
        public var logEndOffset: Int64
        public var lastFetchTimestamp: Int64
        public var lastCaughtUpTimestamp: Int64
    }

    public var clusterId: String?
    public var leaderId: Int32
    public var leaderEpoch: Int32
    public var highWatermark: Int64
    public var voters: [Replica]
    public var observers: [Replica]
}

extension KafkaClient {
    /// Asks any broker (it answers from the quorum leader); NOT_LEADER_OR_FOLLOWER while no leader is known.
    public func describeQuorum() throws -> QuorumDescription {
        var topic = DescribeQuorumRequest.TopicData()
        topic.topicName = "__cluster_metadata"
        topic.partitions = [DescribeQuorumRequest.PartitionData()]
        var request = DescribeQuorumRequest()
        request.topics = [topic]
        let (response, _) = try call(request, on: try anyConnection())
        try ErrorCode(rawValue: response.errorCode).check(response.errorMessage)
        guard let partition = response.topics.first?.partitions.first else {
            throw KafkaClientError.malformedResponse("DescribeQuorum without the metadata partition")
        }
        try ErrorCode(rawValue: partition.errorCode).check(partition.errorMessage)
        func replicas(_ states: [DescribeQuorumResponse.ReplicaState]) -> [QuorumDescription.Replica] {
            states.map { QuorumDescription.Replica(id: $0.replicaId, logEndOffset: $0.logEndOffset,
                                                   lastFetchTimestamp: $0.lastFetchTimestamp,
                                                   lastCaughtUpTimestamp: $0.lastCaughtUpTimestamp) }
        }
        let clusterId = (try? refreshMetadata(topics: []))?.clusterId
        return QuorumDescription(clusterId: clusterId, leaderId: partition.leaderId,
                                 leaderEpoch: partition.leaderEpoch, highWatermark: partition.highWatermark,
                                 voters: replicas(partition.currentVoters), observers: replicas(partition.observers))
    }
}
