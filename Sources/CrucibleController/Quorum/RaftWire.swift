import CrucibleProtocol
import CrucibleRaft
import NIOCore

/// Translation between the Raft core's messages and Kafka's quorum RPCs (topic `__cluster_metadata`, partition
/// 0). Offsets in the RPC fields (fetch offset, high watermark, log start, diverging end, snapshot end, vote's
/// last offset) are Raft entry offsets; the record batches inside carry Kafka record offsets in their headers.
enum RaftWire {
    static let topicName = "__cluster_metadata"

    static func leader(_ id: Int32, _ epoch: Int32) -> LeaderAndEpoch {
        LeaderAndEpoch(leaderID: id >= 0 ? id : nil, epoch: epoch)
    }

    static func error(_ code: Int16) -> RaftErrorCode {
        RaftErrorCode(rawValue: code) ?? .invalidRequest
    }

    // MARK: Vote

    static func request(_ vote: CrucibleRaft.VoteRequest, to voter: RaftNodeID, clusterId: String) -> CrucibleProtocol.VoteRequest {
        var partition = CrucibleProtocol.VoteRequest.PartitionData()
        partition.candidateEpoch = vote.candidateEpoch
        partition.candidateId = vote.candidateID
        partition.lastOffsetEpoch = vote.lastOffsetEpoch
        partition.lastOffset = vote.lastOffset
        var request = CrucibleProtocol.VoteRequest()
        request.clusterId = clusterId
        request.voterId = voter
        var topic = CrucibleProtocol.VoteRequest.TopicData()
        topic.topicName = topicName
        topic.partitions = [partition]
        request.topics = [topic]
        return request
    }

    static func message(_ request: CrucibleProtocol.VoteRequest) -> (RaftNodeID, RaftMessageBody)? {
        guard let partition = request.topics.first?.partitions.first else { return nil }
        return (partition.candidateId, .voteRequest(CrucibleRaft.VoteRequest(
            candidateEpoch: partition.candidateEpoch, candidateID: partition.candidateId,
            lastOffsetEpoch: partition.lastOffsetEpoch, lastOffset: partition.lastOffset)))
    }

    static func response(_ vote: CrucibleRaft.VoteResponse) -> CrucibleProtocol.VoteResponse {
        var partition = CrucibleProtocol.VoteResponse.PartitionData()
        partition.errorCode = vote.errorCode.rawValue
        partition.leaderId = vote.current.leaderID ?? -1
        partition.leaderEpoch = vote.current.epoch
        partition.voteGranted = vote.voteGranted
        var response = CrucibleProtocol.VoteResponse()
        var topic = CrucibleProtocol.VoteResponse.TopicData()
        topic.topicName = topicName
        topic.partitions = [partition]
        response.topics = [topic]
        return response
    }

    static func message(_ response: CrucibleProtocol.VoteResponse) -> RaftMessageBody? {
        guard let partition = response.topics.first?.partitions.first else { return nil }
        let code = response.errorCode != 0 ? response.errorCode : partition.errorCode
        return .voteResponse(CrucibleRaft.VoteResponse(errorCode: error(code),
                                                       current: leader(partition.leaderId, partition.leaderEpoch),
                                                       voteGranted: partition.voteGranted))
    }

    // MARK: BeginQuorumEpoch

    static func request(_ begin: CrucibleRaft.BeginQuorumEpochRequest, to voter: RaftNodeID,
                        clusterId: String) -> CrucibleProtocol.BeginQuorumEpochRequest {
        var partition = CrucibleProtocol.BeginQuorumEpochRequest.PartitionData()
        partition.leaderId = begin.leaderID
        partition.leaderEpoch = begin.leaderEpoch
        var request = CrucibleProtocol.BeginQuorumEpochRequest()
        request.clusterId = clusterId
        request.voterId = voter
        var topic = CrucibleProtocol.BeginQuorumEpochRequest.TopicData()
        topic.topicName = topicName
        topic.partitions = [partition]
        request.topics = [topic]
        return request
    }

    static func message(_ request: CrucibleProtocol.BeginQuorumEpochRequest) -> (RaftNodeID, RaftMessageBody)? {
        guard let partition = request.topics.first?.partitions.first else { return nil }
        return (partition.leaderId, .beginQuorumEpochRequest(CrucibleRaft.BeginQuorumEpochRequest(
            leaderID: partition.leaderId, leaderEpoch: partition.leaderEpoch)))
    }

    static func response(_ answer: QuorumEpochResponse) -> CrucibleProtocol.BeginQuorumEpochResponse {
        var partition = CrucibleProtocol.BeginQuorumEpochResponse.PartitionData()
        partition.errorCode = answer.errorCode.rawValue
        partition.leaderId = answer.current.leaderID ?? -1
        partition.leaderEpoch = answer.current.epoch
        var response = CrucibleProtocol.BeginQuorumEpochResponse()
        var topic = CrucibleProtocol.BeginQuorumEpochResponse.TopicData()
        topic.topicName = topicName
        topic.partitions = [partition]
        response.topics = [topic]
        return response
    }

    static func message(_ response: CrucibleProtocol.BeginQuorumEpochResponse) -> RaftMessageBody? {
        guard let partition = response.topics.first?.partitions.first else { return nil }
        let code = response.errorCode != 0 ? response.errorCode : partition.errorCode
        return .beginQuorumEpochResponse(QuorumEpochResponse(
            errorCode: error(code), current: leader(partition.leaderId, partition.leaderEpoch)))
    }

    // MARK: EndQuorumEpoch

    static func request(_ end: CrucibleRaft.EndQuorumEpochRequest, clusterId: String) -> CrucibleProtocol.EndQuorumEpochRequest {
        var partition = CrucibleProtocol.EndQuorumEpochRequest.PartitionData()
        partition.leaderId = end.leaderID
        partition.leaderEpoch = end.leaderEpoch
        partition.preferredSuccessors = end.preferredSuccessors
        partition.preferredCandidates = end.preferredSuccessors.map { id in
            var candidate = CrucibleProtocol.EndQuorumEpochRequest.ReplicaInfo()
            candidate.candidateId = id
            return candidate
        }
        var request = CrucibleProtocol.EndQuorumEpochRequest()
        request.clusterId = clusterId
        var topic = CrucibleProtocol.EndQuorumEpochRequest.TopicData()
        topic.topicName = topicName
        topic.partitions = [partition]
        request.topics = [topic]
        return request
    }

    static func message(_ request: CrucibleProtocol.EndQuorumEpochRequest) -> (RaftNodeID, RaftMessageBody)? {
        guard let partition = request.topics.first?.partitions.first else { return nil }
        let successors = partition.preferredSuccessors.isEmpty
            ? partition.preferredCandidates.map(\.candidateId) : partition.preferredSuccessors
        return (partition.leaderId, .endQuorumEpochRequest(CrucibleRaft.EndQuorumEpochRequest(
            leaderID: partition.leaderId, leaderEpoch: partition.leaderEpoch, preferredSuccessors: successors)))
    }

    static func response(_ answer: QuorumEpochResponse) -> CrucibleProtocol.EndQuorumEpochResponse {
        var partition = CrucibleProtocol.EndQuorumEpochResponse.PartitionData()
        partition.errorCode = answer.errorCode.rawValue
        partition.leaderId = answer.current.leaderID ?? -1
        partition.leaderEpoch = answer.current.epoch
        var response = CrucibleProtocol.EndQuorumEpochResponse()
        var topic = CrucibleProtocol.EndQuorumEpochResponse.TopicData()
        topic.topicName = topicName
        topic.partitions = [partition]
        response.topics = [topic]
        return response
    }

    static func message(_ response: CrucibleProtocol.EndQuorumEpochResponse) -> RaftMessageBody? {
        guard let partition = response.topics.first?.partitions.first else { return nil }
        let code = response.errorCode != 0 ? response.errorCode : partition.errorCode
        return .endQuorumEpochResponse(QuorumEpochResponse(
            errorCode: error(code), current: leader(partition.leaderId, partition.leaderEpoch)))
    }
}
