import CrucibleController
import CrucibleProtocol
import NIOCore

/// Admin APIs the active controller decides: more partitions, leader elections, reassignments.
extension BrokerApis {
    func createPartitions(_ request: CreatePartitionsRequest,
                          _ context: RequestContext) throws -> Reply<CreatePartitionsResponse> {
        var seen = Set<String>()
        let duplicates = Set(request.topics.map(\.name).filter { !seen.insert($0).inserted })
        let results = request.topics.map { topic -> EventLoopFuture<CreatePartitionsResponse.CreatePartitionsTopicResult> in
            var result = CreatePartitionsResponse.CreatePartitionsTopicResult()
            result.name = topic.name
            guard !duplicates.contains(topic.name) else {
                result.errorCode = ErrorCode.invalidRequest.rawValue
                result.errorMessage = "Duplicate topic in request."
                return context.eventLoop.makeSucceededFuture(result)
            }
            return controller.createPartitions(topic: topic.name, count: topic.count,
                                               assignments: topic.assignments?.map(\.brokerIds),
                                               validateOnly: request.validateOnly)
                .map { code, message in
                    result.errorCode = code.rawValue
                    result.errorMessage = message
                    return result
                }
        }
        return .later(EventLoopFuture.whenAllSucceed(results, on: context.eventLoop).map { results in
            var response = CreatePartitionsResponse()
            response.results = results
            return HandlerOutput(response: response)
        })
    }

    func electLeaders(_ request: ElectLeadersRequest, _ context: RequestContext) throws -> Reply<ElectLeadersResponse> {
        // v0 has no election type: it asks for preferred leaders.
        guard let type = ElectionType(rawValue: context.version == 0 ? 0 : request.electionType) else {
            var response = ElectLeadersResponse()
            response.errorCode = ErrorCode.invalidRequest.rawValue
            return .now(response)
        }
        let partitions = request.topicPartitions.map { topics in
            topics.flatMap { topic in topic.partitions.map { (topic: topic.topic, partition: $0) } }
        }
        return .later(controller.electLeaders(type, partitions: partitions).hop(to: context.eventLoop).map { outcomes in
            var response = ElectLeadersResponse()
            response.replicaElectionResults = Self.grouped(outcomes).map { topic, outcomes in
                var entry = ElectLeadersResponse.ReplicaElectionResult()
                entry.topic = topic
                entry.partitionResult = outcomes.map { outcome in
                    var partition = ElectLeadersResponse.PartitionResult()
                    partition.partitionId = outcome.partition
                    partition.errorCode = outcome.error.rawValue
                    partition.errorMessage = outcome.message
                    return partition
                }
                return entry
            }
            return HandlerOutput(response: response)
        })
    }

    func alterPartitionReassignments(_ request: AlterPartitionReassignmentsRequest,
                                     _ context: RequestContext) throws -> Reply<AlterPartitionReassignmentsResponse> {
        let requests = request.topics.flatMap { topic in
            topic.partitions.map { ReassignmentRequest(topic: topic.name, partition: $0.partitionIndex, replicas: $0.replicas) }
        }
        return .later(controller.alterReassignments(requests).hop(to: context.eventLoop).map { outcomes in
            var response = AlterPartitionReassignmentsResponse()
            response.errorMessage = nil
            response.responses = Self.grouped(outcomes).map { topic, outcomes in
                var entry = AlterPartitionReassignmentsResponse.ReassignableTopicResponse()
                entry.name = topic
                entry.partitions = outcomes.map { outcome in
                    var partition = AlterPartitionReassignmentsResponse.ReassignablePartitionResponse()
                    partition.partitionIndex = outcome.partition
                    partition.errorCode = outcome.error.rawValue
                    partition.errorMessage = outcome.message
                    return partition
                }
                return entry
            }
            return HandlerOutput(response: response)
        })
    }

    /// Answered from this node's image, which is caught up with the controller's (it serves only once it is).
    func listPartitionReassignments(_ request: ListPartitionReassignmentsRequest,
                                    _ context: RequestContext) throws -> Reply<ListPartitionReassignmentsResponse> {
        let wanted = request.topics.map { topics in
            topics.flatMap { topic in topic.partitionIndexes.map { (topic: topic.name, partition: $0) } }
        }
        let ongoing = ControllerCommands.reassignments(in: controller.currentImage, wanted: wanted)
        var response = ListPartitionReassignmentsResponse()
        response.errorMessage = nil
        var order: [String] = []
        var byTopic: [String: [ListPartitionReassignmentsResponse.OngoingPartitionReassignment]] = [:]
        for (topic, partition) in ongoing {
            if byTopic[topic] == nil { order.append(topic) }
            var entry = ListPartitionReassignmentsResponse.OngoingPartitionReassignment()
            entry.partitionIndex = partition.partition
            entry.replicas = partition.replicas
            entry.addingReplicas = partition.addingReplicas
            entry.removingReplicas = partition.removingReplicas
            byTopic[topic, default: []].append(entry)
        }
        response.topics = order.map { topic in
            var entry = ListPartitionReassignmentsResponse.OngoingTopicReassignment()
            entry.name = topic
            entry.partitions = byTopic[topic]!
            return entry
        }
        return .now(response)
    }

    /// Outcomes grouped by topic, topics in first-seen order.
    static func grouped(_ outcomes: [PartitionOutcome]) -> [(String, [PartitionOutcome])] {
        var order: [String] = []
        var byTopic: [String: [PartitionOutcome]] = [:]
        for outcome in outcomes {
            if byTopic[outcome.topic] == nil { order.append(outcome.topic) }
            byTopic[outcome.topic, default: []].append(outcome)
        }
        return order.map { ($0, byTopic[$0]!) }
    }
}

extension ControllerRefusal {
    static func createPartitions(_ request: CreatePartitionsRequest, _ code: ErrorCode) -> CreatePartitionsResponse {
        var response = CreatePartitionsResponse()
        response.results = request.topics.map { topic in
            var entry = CreatePartitionsResponse.CreatePartitionsTopicResult()
            entry.name = topic.name
            entry.errorCode = code.rawValue
            return entry
        }
        return response
    }

    static func electLeaders(_ request: ElectLeadersRequest, _ code: ErrorCode) -> ElectLeadersResponse {
        var response = ElectLeadersResponse()
        response.errorCode = code.rawValue
        return response
    }

    static func alterPartitionReassignments(_ request: AlterPartitionReassignmentsRequest,
                                            _ code: ErrorCode) -> AlterPartitionReassignmentsResponse {
        var response = AlterPartitionReassignmentsResponse()
        response.errorCode = code.rawValue
        return response
    }
}
