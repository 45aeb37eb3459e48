import CrucibleProtocol

extension BrokerApis {
    static let latestTimestamp: Int64 = -1
    static let earliestTimestamp: Int64 = -2
    static let maxTimestamp: Int64 = -3

    func listOffsets(_ request: ListOffsetsRequest, _ context: RequestContext) throws -> Reply<ListOffsetsResponse> {
        var response = ListOffsetsResponse()
        response.topics = request.topics.map { topic in
            var entry = ListOffsetsResponse.ListOffsetsTopicResponse()
            entry.name = topic.name
            // DESCRIBE on the topic, as Kafka asks.
            guard allowed(context, .describe, .topic, topic.name) else {
                entry.partitions = topic.partitions.map { wanted in
                    var refused = ListOffsetsResponse.ListOffsetsPartitionResponse()
                    refused.partitionIndex = wanted.partitionIndex
                    refused.timestamp = -1
                    refused.offset = -1
                    refused.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                    return refused
                }
                return entry
            }
            entry.partitions = topic.partitions.map { lookup(topic.name, $0, request.isolationLevel, context.version) }
            return entry
        }
        return .now(response)
    }

    private func lookup(_ topic: String, _ wanted: ListOffsetsRequest.ListOffsetsPartition, _ isolation: Int8,
                        _ version: Int16) -> ListOffsetsResponse.ListOffsetsPartitionResponse {
        var result = ListOffsetsResponse.ListOffsetsPartitionResponse()
        result.partitionIndex = wanted.partitionIndex
        result.timestamp = -1
        result.offset = -1
        guard let partition = replicas.partition(topic, wanted.partitionIndex) else {
            let known = controller.currentImage.topic(named: topic) != nil
            result.errorCode = (known ? ErrorCode.notLeaderOrFollower : .unknownTopicOrPartition).rawValue
            return result
        }
        guard partition.isLeader else {
            result.errorCode = ErrorCode.notLeaderOrFollower.rawValue
            return result
        }
        let epoch = partition.leaderEpoch
        if wanted.currentLeaderEpoch >= 0 && wanted.currentLeaderEpoch != epoch {
            result.errorCode = (wanted.currentLeaderEpoch > epoch ? ErrorCode.unknownLeaderEpoch : .fencedLeaderEpoch).rawValue
            return result
        }
        result.leaderEpoch = epoch
        let visibleEnd = isolation == 1 ? partition.lastStableOffset : partition.highWatermark
        switch wanted.timestamp {
        case Self.latestTimestamp:
            result.offset = visibleEnd
        case Self.earliestTimestamp:
            result.offset = partition.log.logStartOffset
        case Self.maxTimestamp:
            if let entry = partition.log.maxTimestampEntry(), entry.offset < visibleEnd {
                (result.offset, result.timestamp) = entry
            }
        default:
            do {
                if let hit = try partition.log.offset(forTimestamp: wanted.timestamp), hit.offset < visibleEnd {
                    (result.offset, result.timestamp) = hit
                }
            } catch {
                result.errorCode = ErrorCode.kafkaStorageError.rawValue
            }
        }
        if version == 0 {
            // v0 answers a list of offsets; ask for one and you get the one.
            result.oldStyleOffsets = result.offset >= 0 && wanted.maxNumOffsets > 0 ? [result.offset] : []
        }
        return result
    }
}
