import CrucibleController
import CrucibleProtocol
import NIOCore

/// In a cluster only the active controller (the quorum's leader) decides metadata changes. A request that needs
/// a decision and arrives at another node is sent, unchanged and at the client's version, to the leader's
/// controller listener, and the leader's answer is relayed. With no leader known the client is told
/// NOT_CONTROLLER (or the API's retriable equivalent) and retries.
final class ControllerForwarding: @unchecked Sendable {
    let controller: QuorumController
    let connections: ControllerConnections
    static let timeout = TimeAmount.seconds(30)

    init(controller: QuorumController, connections: ControllerConnections) {
        self.controller = controller
        self.connections = connections
    }

    var quorum: MetadataQuorum { controller.quorum }

    /// `handler` runs here when this node leads; otherwise the request goes to the leader.
    func wrap<Request: KafkaRequest>(
        _ handler: @escaping (Request, RequestContext) throws -> Reply<Request.Response>,
        refusal: @escaping (Request, ErrorCode) -> Request.Response
    ) -> (Request, RequestContext) throws -> Reply<Request.Response> {
        { [self] request, context in
            if controller.isActive {
                // Leadership lost while the command waited (a busy node missing its quorum's fetch timeout):
                // the client gets Kafka's retriable NOT_CONTROLLER, not a closed connection.
                let reply = try handler(request, context)
                guard case .later(let answer) = reply else { return reply }
                return .later(answer.flatMapErrorThrowing { error in
                    guard error is NotControllerError else { throw error }
                    return HandlerOutput(response: refusal(request, .notController))
                })
            }
            return .later(forward(request, version: context.version, refusal: refusal).hop(to: context.eventLoop)
                .map { HandlerOutput(response: $0) })
        }
    }

    func forward<Request: KafkaRequest>(_ request: Request, version: Int16,
                                        refusal: @escaping (Request, ErrorCode) -> Request.Response)
        -> EventLoopFuture<Request.Response> {
        guard let leader = quorum.leaderId, leader != quorum.nodeId else {
            return controller.eventLoopForCallbacks.makeSucceededFuture(refusal(request, .notController))
        }
        return connections.send(request, version: version, to: leader, timeout: Self.timeout)
            .recover { _ in refusal(request, .notController) }
    }

    func close() {
        connections.close()
    }
}

/// What each forwarded API answers when the leader cannot be reached.
enum ControllerRefusal {
    static func createTopics(_ request: CreateTopicsRequest, _ code: ErrorCode) -> CreateTopicsResponse {
        var response = CreateTopicsResponse()
        response.topics = request.topics.map { topic in
            var entry = CreateTopicsResponse.CreatableTopicResult()
            entry.name = topic.name
            entry.errorCode = code.rawValue
            entry.numPartitions = -1
            entry.replicationFactor = -1
            return entry
        }
        return response
    }

    static func deleteTopics(_ request: DeleteTopicsRequest, _ code: ErrorCode) -> DeleteTopicsResponse {
        // Before v6 topics come by name; from v6 by name or by id, and the answer carries both back.
        let named = request.topicNames.map { (name: Optional($0), topicId: KafkaUUID.zero) }
        let states = request.topics.map { (name: $0.name, topicId: $0.topicId) }
        var response = DeleteTopicsResponse()
        response.responses = (named + states).map { topic in
            var entry = DeleteTopicsResponse.DeletableTopicResult()
            entry.name = topic.name
            entry.topicId = topic.topicId
            entry.errorCode = code.rawValue
            return entry
        }
        return response
    }

    static func alterConfigs(_ request: AlterConfigsRequest, _ code: ErrorCode) -> AlterConfigsResponse {
        var response = AlterConfigsResponse()
        response.responses = request.resources.map { resource in
            var entry = AlterConfigsResponse.AlterConfigsResourceResponse()
            entry.resourceType = resource.resourceType
            entry.resourceName = resource.resourceName
            entry.errorCode = code.rawValue
            return entry
        }
        return response
    }

    static func incrementalAlterConfigs(_ request: IncrementalAlterConfigsRequest,
                                        _ code: ErrorCode) -> IncrementalAlterConfigsResponse {
        var response = IncrementalAlterConfigsResponse()
        response.responses = request.resources.map { resource in
            var entry = IncrementalAlterConfigsResponse.AlterConfigsResourceResponse()
            entry.resourceType = resource.resourceType
            entry.resourceName = resource.resourceName
            entry.errorCode = code.rawValue
            return entry
        }
        return response
    }

    static func describeConfigs(_ request: DescribeConfigsRequest, _ code: ErrorCode) -> DescribeConfigsResponse {
        var response = DescribeConfigsResponse()
        response.results = request.resources.map { resource in
            var entry = DescribeConfigsResponse.DescribeConfigsResult()
            entry.resourceType = resource.resourceType
            entry.resourceName = resource.resourceName
            entry.errorCode = code.rawValue
            return entry
        }
        return response
    }

    /// Producers retry COORDINATOR_NOT_AVAILABLE; NOT_CONTROLLER would be fatal to them.
    static func initProducerId(_ request: InitProducerIdRequest, _ code: ErrorCode) -> InitProducerIdResponse {
        var response = InitProducerIdResponse()
        response.errorCode = ErrorCode.coordinatorNotAvailable.rawValue
        response.producerId = -1
        response.producerEpoch = -1
        return response
    }

    static func describeQuorum(_ request: DescribeQuorumRequest, _ code: ErrorCode) -> DescribeQuorumResponse {
        var partition = DescribeQuorumResponse.PartitionData()
        partition.errorCode = ErrorCode.notLeaderOrFollower.rawValue
        partition.leaderId = -1
        var topic = DescribeQuorumResponse.TopicData()
        topic.topicName = "__cluster_metadata"
        topic.partitions = [partition]
        var response = DescribeQuorumResponse()
        response.topics = [topic]
        return response
    }

    static func brokerRegistration(_ request: BrokerRegistrationRequest, _ code: ErrorCode) -> BrokerRegistrationResponse {
        var response = BrokerRegistrationResponse()
        response.errorCode = code.rawValue
        return response
    }
}
