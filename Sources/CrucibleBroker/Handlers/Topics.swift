import CrucibleController
import CrucibleProtocol

extension BrokerApis {
    func createTopics(_ request: CreateTopicsRequest, _ context: RequestContext) throws -> Reply<CreateTopicsResponse> {
        var malformed: [String: String] = [:]
        let creations = request.topics.map { topic in
            // A manual assignment must name partitions 0, 1, ... n-1, each once.
            let assignments = topic.assignments.sorted { $0.partitionIndex < $1.partitionIndex }
            if assignments.enumerated().contains(where: { Int32($0.offset) != $0.element.partitionIndex }) {
                malformed[topic.name] = "partitions should be a consecutive 0-based integer sequence"
            }
            return TopicCreation(name: topic.name, partitions: topic.numPartitions,
                                 replicationFactor: topic.replicationFactor,
                                 configs: Dictionary(topic.configs.compactMap { c in c.value.map { (c.name, $0) } },
                                                     uniquingKeysWith: { _, last in last }),
                                 assignments: assignments.map(\.brokerIds))
        }
        let refused = malformed.map {
            TopicCreationResult(name: $0.key, error: .invalidReplicaAssignment, message: $0.value, topicId: .zero,
                                partitions: -1, replicationFactor: -1)
        }
        return .later(controller.createTopics(creations.filter { malformed[$0.name] == nil },
                                              validateOnly: request.validateOnly)
            .hop(to: context.eventLoop)
            .map { HandlerOutput(response: self.createTopicsResponse(request, creations, $0 + refused)) })
    }

    private func createTopicsResponse(_ request: CreateTopicsRequest, _ creations: [TopicCreation],
                                      _ results: [TopicCreationResult]) -> CreateTopicsResponse {
        var response = CreateTopicsResponse()
        response.topics = request.topics.map { topic in
            var entry = CreateTopicsResponse.CreatableTopicResult()
            entry.name = topic.name
            let result = results.first { $0.name == topic.name }!
            entry.errorCode = result.error.rawValue
            entry.errorMessage = result.message
            entry.topicId = result.topicId
            entry.numPartitions = result.error == .none ? result.partitions : -1
            entry.replicationFactor = result.error == .none ? result.replicationFactor : -1
            if result.error == .none {
                entry.configs = configSources.describeTopic(creations.first { $0.name == topic.name }!.configs).map { described in
                    var c = CreateTopicsResponse.CreatableTopicConfigs()
                    c.name = described.name
                    c.value = described.value
                    c.configSource = described.source
                    c.isSensitive = described.sensitive
                    return c
                }
            }
            return entry
        }
        return response
    }

    func deleteTopics(_ request: DeleteTopicsRequest, _ context: RequestContext) throws -> Reply<DeleteTopicsResponse> {
        let image = controller.currentImage
        // v6 names topics by name or id; earlier versions by name only.
        let wanted: [(name: String?, id: KafkaUUID)] = context.version >= 6
            ? request.topics.map { ($0.name ?? image.topic(id: $0.topicId)?.name, $0.topicId) }
            : request.topicNames.map { ($0, KafkaUUID.zero) }
        let version = context.version
        return .later(controller.deleteTopics(wanted.compactMap(\.name)).hop(to: context.eventLoop).map { results in
            var response = DeleteTopicsResponse()
            response.responses = wanted.map { topic in
                var entry = DeleteTopicsResponse.DeletableTopicResult()
                entry.name = topic.name
                entry.topicId = topic.name.flatMap { image.topic(named: $0)?.id } ?? topic.id
                let code = topic.name.flatMap { results[$0] } ?? (version >= 6 ? .unknownTopicId : .unknownTopicOrPartition)
                entry.errorCode = code.rawValue
                return entry
            }
            return HandlerOutput(response: response)
        })
    }
}
