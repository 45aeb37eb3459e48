import CrucibleController
import CrucibleProtocol
import NIOCore

extension BrokerApis {
    /// A group's coordinator is the leader of its `__consumer_offsets` partition, a transactional id's the leader
    /// of its `__transaction_state` partition. The topic is created on the first lookup (COORDINATOR_NOT_AVAILABLE
    /// until it has a leader, as Kafka answers).
    func findCoordinator(_ request: FindCoordinatorRequest, _ context: RequestContext) throws -> Reply<FindCoordinatorResponse> {
        let keys = context.version >= 4 ? request.coordinatorKeys : [request.key]
        let image = controller.currentImage
        let topicName = request.keyType == 1 ? TransactionStateLog.topic : OffsetsTopicLog.topic
        let topic = image.topic(named: topicName)
        let known = request.keyType == 0 || request.keyType == 1
        if known && topic == nil { createInternalTopic(request.keyType == 1 ? transactionStateTopic(image) : offsetsTopic(image)) }
        let coordinators = keys.map { key -> FindCoordinatorResponse.Coordinator in
            var coordinator = FindCoordinatorResponse.Coordinator()
            coordinator.key = key
            coordinator.nodeId = -1
            coordinator.port = -1
            coordinator.errorCode = (known ? ErrorCode.coordinatorNotAvailable : .invalidRequest).rawValue
            guard known, let topic else { return coordinator }
            let index = OffsetsTopicLog.partition(for: key, partitions: Int32(topic.partitions.count))
            let leader = topic.partitions[index]?.leader ?? -1
            guard leader >= 0, let (_, endpoint, _) = liveBrokerEndpoints(image, listener: context.listenerName).first(where: { $0.0 == leader }) else {
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

    /// `__consumer_offsets` with Kafka's settings, its replication factor capped by the live brokers (Kafka
    /// refuses instead; single-node setups lower the key by hand there).
    private func offsetsTopic(_ image: MetadataImage) -> TopicCreation {
        let replication = min(config.groups.offsetsTopicReplicationFactor, Self.liveBrokers(image))
        return TopicCreation(name: OffsetsTopicLog.topic, partitions: config.groups.offsetsTopicPartitions, replicationFactor: replication,
                             configs: ["cleanup.policy": "compact", "compression.type": "producer",
                                       "segment.bytes": String(config.groups.offsetsTopicSegmentBytes)])
    }

    /// `__transaction_state` as Kafka makes it: compacted, uncompressed, never led by a replica out of sync.
    private func transactionStateTopic(_ image: MetadataImage) -> TopicCreation {
        let settings = config.transactions
        let replication = min(settings.logReplicationFactor, Self.liveBrokers(image))
        return TopicCreation(name: TransactionStateLog.topic, partitions: settings.logPartitions, replicationFactor: replication,
                             configs: ["cleanup.policy": "compact", "compression.type": "uncompressed",
                                       "min.insync.replicas": String(min(settings.logMinIsr, Int32(replication))),
                                       "unclean.leader.election.enable": "false",
                                       "segment.bytes": String(settings.logSegmentBytes)])
    }

    private static func liveBrokers(_ image: MetadataImage) -> Int16 {
        Int16(max(1, image.brokers.values.filter { !$0.fenced }.count))
    }

    /// Creates an internal topic through the active controller (forwarded when this node is not it).
    private func createInternalTopic(_ creation: TopicCreation) {
        let outcome: EventLoopFuture<ErrorCode>
        if let forwarding, !controller.isActive {
            var topic = CreateTopicsRequest.CreatableTopic()
            topic.name = creation.name
            topic.numPartitions = creation.partitions
            topic.replicationFactor = creation.replicationFactor
            topic.configs = creation.configs.sorted { $0.key < $1.key }.map { name, value in
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
            outcome = controller.createTopics([creation], validateOnly: false).map { $0.first?.error ?? .none }
        }
        outcome.whenSuccess { code in
            if code != .none && code != .topicAlreadyExists {
                self.logger.warning("creating \(creation.name) failed: \(code.name)")
            }
        }
    }
}
