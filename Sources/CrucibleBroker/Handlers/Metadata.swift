import CrucibleController
import CrucibleProtocol

extension BrokerApis {
    func metadata(_ request: MetadataRequest, _ context: RequestContext) throws -> Reply<MetadataResponse> {
        let image = controller.currentImage
        // v0 has no null topic list: an empty list means all topics. From v1 null means all, empty means none.
        let names: [String]? = request.topics.map { topics in topics.compactMap { $0.name ?? image.topic(id: $0.topicId)?.name } }
        let all = names == nil || (context.version == 0 && names!.isEmpty)
        let allowed = context.version < 4 || request.allowAutoTopicCreation
        // Auto-creation needs CREATE on the cluster or the topic (and DESCRIBE to be told about it).
        let mayCreate = allowedOnCluster(context, .create)
        let missing = all ? [] : Array(Set((names ?? []).filter {
            image.topic(named: $0) == nil && TopicRules.problem(withName: $0) == nil
                && (mayCreate || self.allowed(context, .create, .topic, $0))
        })).sorted()
        guard allowed && config.autoCreateTopicsEnable && !missing.isEmpty else {
            return .now(metadataResponse(names: all ? nil : names, image: image, created: [], context: context))
        }
        return .later(autoCreate(missing).hop(to: context.eventLoop).map {
            HandlerOutput(response: self.metadataResponse(names: names, image: self.controller.currentImage,
                                                          created: Set(missing), context: context))
        })
    }

    /// `names` nil: every topic. A topic just created whose partitions are not yet known reads as
    /// LEADER_NOT_AVAILABLE, which clients retry.
    /// Only topics the principal may DESCRIBE are listed; one asked for by name that it may not is answered
    /// TOPIC_AUTHORIZATION_FAILED.
    private func metadataResponse(names: [String]?, image: MetadataImage, created: Set<String>,
                                  context: RequestContext) -> MetadataResponse {
        let listener = context.listenerName
        var response = MetadataResponse()
        response.clusterId = clusterId
        response.brokers = liveBrokerEndpoints(image, listener: listener).map { id, endpoint, rack in
            var entry = MetadataResponse.MetadataResponseBroker()
            entry.nodeId = id
            entry.host = endpoint.host
            entry.port = endpoint.port
            entry.rack = rack
            return entry
        }
        response.controllerId = controllerIdForClients(response.brokers.map(\.nodeId))
        let liveBrokers = Set(response.brokers.map(\.nodeId))
        guard let names else {
            response.topics = image.sortedTopics.filter { allowed(context, .describe, .topic, $0.name) }
                .map { describe($0, live: liveBrokers) }
            return response
        }
        response.topics = names.map { name in
            guard allowed(context, .describe, .topic, name) else {
                var refused = MetadataResponse.MetadataResponseTopic()
                refused.name = name
                refused.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                return refused
            }
            if let topic = image.topic(named: name) { return describe(topic, live: liveBrokers) }
            var missing = MetadataResponse.MetadataResponseTopic()
            missing.name = name
            missing.errorCode = TopicRules.problem(withName: name) != nil ? ErrorCode.invalidTopicException.rawValue
                : (created.contains(name) ? ErrorCode.leaderNotAvailable : ErrorCode.unknownTopicOrPartition).rawValue
            return missing
        }
        return response
    }

    private func describe(_ topic: TopicImage, live: Set<Int32>) -> MetadataResponse.MetadataResponseTopic {
        var entry = MetadataResponse.MetadataResponseTopic()
        entry.name = topic.name
        entry.topicId = topic.id
        entry.isInternal = InternalTopicLog.isInternal(topic.name)
        entry.partitions = topic.partitions.keys.sorted().map { index in
            let state = topic.partitions[index]!
            var partition = MetadataResponse.MetadataResponsePartition()
            partition.partitionIndex = index
            partition.leaderId = live.contains(state.leader) ? state.leader : -1
            partition.leaderEpoch = state.leaderEpoch
            partition.replicaNodes = state.replicas
            partition.isrNodes = state.isr
            partition.offlineReplicas = state.replicas.filter { !live.contains($0) }
            partition.errorCode = partition.leaderId == -1 ? ErrorCode.leaderNotAvailable.rawValue : 0
            return partition
        }
        return entry
    }
}
