import CrucibleProtocol

extension BrokerApis {
    /// Where the leader's log ends each epoch (KIP-101, KIP-320): a consumer that saw epoch E up to offset O
    /// learns whether its position survived a leader change, or was truncated away (e.g. after an unclean
    /// election), and where to resume.
    func offsetForLeaderEpoch(_ request: OffsetForLeaderEpochRequest,
                              _ context: RequestContext) throws -> Reply<OffsetForLeaderEpochResponse> {
        var response = OffsetForLeaderEpochResponse()
        response.topics = request.topics.map { topic in
            var entry = OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult()
            entry.topic = topic.topic
            entry.partitions = topic.partitions.map { wanted in
                var result = OffsetForLeaderEpochResponse.EpochEndOffset()
                result.partition = wanted.partition
                result.leaderEpoch = -1
                result.endOffset = -1
                guard let partition = replicas.partition(topic.topic, wanted.partition) else {
                    let known = controller.currentImage.topic(named: topic.topic) != nil
                    result.errorCode = (known ? ErrorCode.notLeaderOrFollower : .unknownTopicOrPartition).rawValue
                    return result
                }
                guard partition.isLeader else {
                    result.errorCode = ErrorCode.notLeaderOrFollower.rawValue
                    return result
                }
                let epoch = partition.leaderEpoch
                if wanted.currentLeaderEpoch >= 0 && wanted.currentLeaderEpoch != epoch {
                    result.errorCode = (wanted.currentLeaderEpoch > epoch ? ErrorCode.unknownLeaderEpoch
                                        : .fencedLeaderEpoch).rawValue
                    return result
                }
                let (foundEpoch, endOffset) = partition.log.endOffset(forEpoch: wanted.leaderEpoch)
                result.leaderEpoch = foundEpoch
                result.endOffset = endOffset
                return result
            }
            return entry
        }
        return .now(response)
    }
}
