import CrucibleController
import CrucibleProtocol
import NIOCore

extension BrokerApis {
    /// A group's coordinator is the leader of its `__consumer_offsets` partition. The topic is created on the
    /// first lookup (COORDINATOR_NOT_AVAILABLE until it has a leader, as Kafka answers). Transaction
    /// coordinators do not exist yet: COORDINATOR_NOT_AVAILABLE.
    func findCoordinator(_ request: FindCoordinatorRequest, _ context: RequestContext) throws -> Reply<FindCoordinatorResponse> {
        let keys = context.version >= 4 ? request.coordinatorKeys : [request.key]
        let image = controller.currentImage
        let offsetsTopic = image.topic(named: OffsetsTopicLog.topic)
        if request.keyType == 0 && offsetsTopic == nil { createOffsetsTopic(image) }
        let coordinators = keys.map { key -> FindCoordinatorResponse.Coordinator in
            var coordinator = FindCoordinatorResponse.Coordinator()
            coordinator.key = key
            coordinator.nodeId = -1
            coordinator.port = -1
            coordinator.errorCode = ErrorCode.coordinatorNotAvailable.rawValue
            guard request.keyType == 0, let offsetsTopic else { return coordinator }
            let index = OffsetsTopicLog.partition(for: key, partitions: Int32(offsetsTopic.partitions.count))
            let leader = offsetsTopic.partitions[index]?.leader ?? -1
            guard leader >= 0, let (_, endpoint, _) = liveBrokerEndpoints(image).first(where: { $0.0 == leader }) else {
                return coordinator
            }
            coordinator.nodeId = leader
            coordinator.host = endpoint.host
            coordinator.port = Int32(endpoint.port)
            coordinator.errorCode = 0
            return coordinator
        }
        var response = FindCoordinatorResponse()
        if context.version >= 4 {
            response.coordinators = coordinators
        } else if let only = coordinators.first {
            response.errorCode = only.errorCode
            response.nodeId = only.nodeId
            response.host = only.host
            response.port = only.port
        }
        return .now(response)
    }

    /// Creates `__consumer_offsets` with Kafka's settings, its replication factor capped by the live brokers
    /// (Kafka refuses instead; single-node setups lower the key by hand there).
    private func createOffsetsTopic(_ image: MetadataImage) {
        let live = Int16(max(1, image.brokers.values.filter { !$0.fenced }.count))
        let replication = min(config.groups.offsetsTopicReplicationFactor, live)
        let configs = ["cleanup.policy": "compact", "compression.type": "producer",
                       "segment.bytes": String(config.groups.offsetsTopicSegmentBytes)]
        let outcome: EventLoopFuture<ErrorCode>
        if let forwarding, !controller.isActive {
            var topic = CreateTopicsRequest.CreatableTopic()
            topic.name = OffsetsTopicLog.topic
            topic.numPartitions = config.groups.offsetsTopicPartitions
            topic.replicationFactor = replication
            topic.configs = configs.sorted { $0.key < $1.key }.map { name, value in
                var entry = CreateTopicsRequest.CreatableTopicConfig()
                entry.name = name
                entry.value = value
                return entry
            }
            var request = CreateTopicsRequest()
            request.timeoutMs = 30_000
            request.topics = [topic]
            outcome = forwarding.forward(request, version: 7, refusal: ControllerRefusal.createTopics)
                .map { ErrorCode(rawValue: $0.topics.first?.errorCode ?? 0) }
        } else {
            let creation = TopicCreation(name: OffsetsTopicLog.topic, partitions: config.groups.offsetsTopicPartitions,
                                         replicationFactor: replication, configs: configs)
            outcome = controller.createTopics([creation], validateOnly: false).map { $0.first?.error ?? .none }
        }
        outcome.whenSuccess { code in
            if code != .none && code != .topicAlreadyExists {
                self.logger.warning("creating \(OffsetsTopicLog.topic) failed: \(code.name)")
            }
        }
    }
}
