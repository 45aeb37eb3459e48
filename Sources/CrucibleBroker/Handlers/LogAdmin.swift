#if canImport(Glibc)
import Glibc
#endif
import CrucibleController
import CrucibleProtocol
import NIOCore

/// Admin APIs each node answers from its own logs and image: DeleteRecords (on the leader), DescribeLogDirs,
/// DescribeProducers, DescribeCluster.
extension BrokerApis {
    func deleteRecords(_ request: DeleteRecordsRequest, _ context: RequestContext) throws -> Reply<DeleteRecordsResponse> {
        let image = controller.currentImage
        var response = DeleteRecordsResponse()
        response.topics = request.topics.map { topic in
            var entry = DeleteRecordsResponse.DeleteRecordsTopicResult()
            entry.name = topic.name
            entry.partitions = topic.partitions.map { wanted in
                var result = DeleteRecordsResponse.DeleteRecordsPartitionResult()
                result.partitionIndex = wanted.partitionIndex
                result.lowWatermark = -1
                guard let partition = replicas.partition(topic.name, wanted.partitionIndex) else {
                    let known = image.topic(named: topic.name)?.partitions[wanted.partitionIndex] != nil
                    result.errorCode = (known ? ErrorCode.notLeaderOrFollower : .unknownTopicOrPartition).rawValue
                    return result
                }
                guard partition.isLeader else {
                    result.errorCode = ErrorCode.notLeaderOrFollower.rawValue
                    return result
                }
                // -1 means "up to the high watermark"; anything else must lie within what is committed.
                let highWatermark = partition.highWatermark
                let offset = wanted.offset == -1 ? highWatermark : wanted.offset
                guard offset >= 0, offset <= highWatermark else {
                    result.errorCode = ErrorCode.offsetOutOfRange.rawValue
                    return result
                }
                do {
                    if try partition.log.advanceStartOffset(to: offset) {
                        logger.info("\(topic.name)-\(wanted.partitionIndex): records before \(offset) deleted")
                        try? replicas.logs.checkpointLogStartOffsets()
                    }
                    result.lowWatermark = partition.log.logStartOffset
                } catch {
                    logger.error("deleting records of \(topic.name)-\(wanted.partitionIndex) failed: \(error)")
                    result.errorCode = ErrorCode.kafkaStorageError.rawValue
                }
                return result
            }
            return entry
        }
        return .now(response)
    }

    func describeLogDirs(_ request: DescribeLogDirsRequest, _ context: RequestContext) throws -> Reply<DescribeLogDirsResponse> {
        let wanted = request.topics.map { topics in
            Set(topics.flatMap { topic in topic.partitions.map { ReplicaManager.key(topic.topic, $0) } })
        }
        let hosted = replicas.allPartitions.filter { wanted?.contains(ReplicaManager.key($0.topic, $0.index)) ?? true }
        var result = DescribeLogDirsResponse.DescribeLogDirsResult()
        result.logDir = config.dataDirectory
        var byTopic: [String: [DescribeLogDirsResponse.DescribeLogDirsPartition]] = [:]
        for partition in hosted {
            var entry = DescribeLogDirsResponse.DescribeLogDirsPartition()
            entry.partitionIndex = partition.index
            entry.partitionSize = Int64(partition.log.sizeBytes)
            // Kafka's lag of a current (not future) log: how far its end is below the high watermark.
            entry.offsetLag = max(0, partition.highWatermark - partition.log.logEndOffset)
            byTopic[partition.topic, default: []].append(entry)
        }
        result.topics = byTopic.keys.sorted().map { name in
            var topic = DescribeLogDirsResponse.DescribeLogDirsTopic()
            topic.name = name
            topic.partitions = byTopic[name]!.sorted { $0.partitionIndex < $1.partitionIndex }
            return topic
        }
        var stats = statvfs()
        if statvfs(config.dataDirectory, &stats) == 0 {
            result.totalBytes = Int64(stats.f_blocks) * Int64(stats.f_frsize)
            result.usableBytes = Int64(stats.f_bavail) * Int64(stats.f_frsize)
        }
        var response = DescribeLogDirsResponse()
        response.results = [result]
        return .now(response)
    }

    func describeProducers(_ request: DescribeProducersRequest,
                           _ context: RequestContext) throws -> Reply<DescribeProducersResponse> {
        let image = controller.currentImage
        var response = DescribeProducersResponse()
        response.topics = request.topics.map { topic in
            var entry = DescribeProducersResponse.TopicResponse()
            entry.name = topic.name
            entry.partitions = topic.partitionIndexes.map { index in
                var result = DescribeProducersResponse.PartitionResponse()
                result.partitionIndex = index
                result.errorMessage = nil
                guard let partition = replicas.partition(topic.name, index), partition.isLeader else {
                    let known = image.topic(named: topic.name)?.partitions[index] != nil
                    result.errorCode = (known ? ErrorCode.notLeaderOrFollower : .unknownTopicOrPartition).rawValue
                    return result
                }
                result.activeProducers = partition.log.activeProducers.map { producer in
                    var state = DescribeProducersResponse.ProducerState()
                    state.producerId = producer.producerId
                    state.producerEpoch = Int32(producer.epoch)
                    state.lastSequence = producer.lastSequence
                    state.lastTimestamp = producer.lastTimestamp
                    state.coordinatorEpoch = producer.coordinatorEpoch
                    state.currentTxnStartOffset = producer.currentTxnStartOffset
                    return state
                }
                return result
            }
            return entry
        }
        return .now(response)
    }

    func describeCluster(_ request: DescribeClusterRequest, _ context: RequestContext) throws -> Reply<DescribeClusterResponse> {
        var response = DescribeClusterResponse()
        response.errorMessage = nil
        response.endpointType = request.endpointType
        response.clusterId = clusterId
        // A broker listener answers for brokers only (Kafka's UNSUPPORTED_ENDPOINT_TYPE for controllers).
        guard context.version == 0 || request.endpointType == 1 else {
            response.errorCode = ErrorCode(rawValue: 115).rawValue
            response.errorMessage = "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type \(request.endpointType)"
            return .now(response)
        }
        let brokers = liveBrokerEndpoints(controller.currentImage, listener: context.listenerName)
        response.controllerId = controllerIdForClients(brokers.map(\.0))
        response.clusterAuthorizedOperations = Int32.min
        response.brokers = brokers.map { id, endpoint, rack in
            var broker = DescribeClusterResponse.DescribeClusterBroker()
            broker.brokerId = id
            broker.host = endpoint.host
            broker.port = endpoint.port
            broker.rack = rack
            return broker
        }
        return .now(response)
    }

    /// The "controller" clients are told of. Clients send admin requests there, but in KRaft they cannot reach
    /// the controller quorum, so, as Kafka's brokers do, name a live broker (which forwards): the active
    /// controller when it is one of them, else the lowest live id.
    func controllerIdForClients(_ live: [Int32]) -> Int32 {
        if let leader = controller.quorum.leaderId, live.contains(leader) { return leader }
        return live.min() ?? -1
    }

    /// Unfenced brokers with their client endpoint, by id (Metadata and DescribeCluster list these).
    /// Each live broker's address on `listener` (the one the request came in on, as Kafka answers), else its
    /// first client listener.
    func liveBrokerEndpoints(_ image: MetadataImage, listener: String) -> [(Int32, BrokerEndpointImage, String?)] {
        image.brokers.values.filter { !$0.fenced }.sorted { $0.id < $1.id }.compactMap { broker in
            guard let endpoint = broker.endpoints.first(where: { $0.name == listener })
                    ?? broker.endpoints.first(where: { !config.controllerListenerNames.contains($0.name) })
            else { return nil }
            return (broker.id, endpoint, broker.rack.flatMap { $0.isEmpty ? nil : $0 })
        }
    }
}
