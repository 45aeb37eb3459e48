import CrucibleClient
import CrucibleController
import CrucibleProtocol
import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Reaches whichever node is the active controller: in process when it is this one, else over its controller
/// listener (from `controller.quorum.voters`). A refused or failed call drops the connection; the caller's
/// next attempt finds the leader again.
final class ActiveControllerChannel: ControllerChannel, @unchecked Sendable {
    private let local: QuorumController
    private let voters: [Int32: (host: String, port: Int)]
    private let group: EventLoopGroup
    private let nodeId: Int32
    private let logger: Logger
    private let queue = DispatchQueue(label: "crucible.controller-channel")
    private var connection: (leader: Int32, connection: BrokerConnection)?

    init(local: QuorumController, voters: [Int32: (host: String, port: Int)], group: EventLoopGroup, nodeId: Int32,
         logger: Logger) {
        self.local = local
        self.voters = voters
        self.group = group
        self.nodeId = nodeId
        self.logger = logger
    }

    func registerBroker(id: Int32, endpoints: [BrokerEndpointImage], rack: String?,
                        incarnation: KafkaUUID) -> EventLoopFuture<Int64> {
        if local.isActive {
            return LocalControllerChannel(controller: local).registerBroker(id: id, endpoints: endpoints, rack: rack,
                                                                            incarnation: incarnation)
        }
        var request = BrokerRegistrationRequest()
        request.brokerId = id
        request.rack = rack
        request.incarnationId = incarnation
        request.listeners = endpoints.map {
            var listener = BrokerRegistrationRequest.Listener()
            listener.name = $0.name
            listener.host = $0.host
            listener.port = UInt16(clamping: $0.port)
            return listener
        }
        return remote(request) { response in
            try ErrorCode(rawValue: response.errorCode).check("BrokerRegistration")
            return response.brokerEpoch
        }
    }

    func heartbeat(broker: Int32, brokerEpoch: Int64, wantShutDown: Bool) -> EventLoopFuture<HeartbeatAnswer> {
        if local.isActive { return LocalControllerChannel(controller: local).heartbeat(broker: broker, brokerEpoch: brokerEpoch, wantShutDown: wantShutDown) }
        var request = BrokerHeartbeatRequest()
        request.brokerId = broker
        request.brokerEpoch = brokerEpoch
        request.currentMetadataOffset = local.currentImage.appliedOffset
        request.wantShutDown = wantShutDown
        return remote(request) { response in
            HeartbeatAnswer(error: ErrorCode(rawValue: response.errorCode), isFenced: response.isFenced,
                            shouldShutDown: response.shouldShutDown)
        }
    }

    func alterPartition(topicId: KafkaUUID, partition: Int32, leaderId: Int32, leaderEpoch: Int32,
                        partitionEpoch: Int32, isr: [Int32]) -> EventLoopFuture<ErrorCode> {
        if local.isActive {
            return LocalControllerChannel(controller: local).alterPartition(
                topicId: topicId, partition: partition, leaderId: leaderId, leaderEpoch: leaderEpoch,
                partitionEpoch: partitionEpoch, isr: isr)
        }
        var request = AlterPartitionRequest()
        request.brokerId = leaderId
        request.brokerEpoch = local.currentImage.brokers[leaderId]?.epoch ?? -1
        var topic = AlterPartitionRequest.TopicData()
        topic.topicId = topicId
        topic.topicName = local.currentImage.topic(id: topicId)?.name ?? ""
        var data = AlterPartitionRequest.PartitionData()
        data.partitionIndex = partition
        data.leaderEpoch = leaderEpoch
        data.partitionEpoch = partitionEpoch
        data.newIsr = isr
        data.newIsrWithEpochs = isr.map {
            var state = AlterPartitionRequest.BrokerState()
            state.brokerId = $0
            state.brokerEpoch = -1
            return state
        }
        topic.partitions = [data]
        request.topics = [topic]
        return remote(request) { response in
            let top = ErrorCode(rawValue: response.errorCode)
            guard top == .none else { return top }
            return ErrorCode(rawValue: response.topics.first?.partitions.first?.errorCode ?? ErrorCode.unknownServerError.rawValue)
        }
    }

    /// Sends `request` to the active controller from a queue of its own (connecting blocks).
    private func remote<Request: KafkaRequest, Answer: Sendable>(
        _ request: Request, _ decode: @escaping @Sendable (Request.Response) throws -> Answer)
        -> EventLoopFuture<Answer> {
        let promise = group.next().makePromise(of: Answer.self)
        queue.async {
            do {
                guard let leader = self.local.quorum.leaderId, let address = self.voters[leader] else {
                    throw NotControllerError(leaderId: nil)
                }
                if self.connection?.leader != leader {
                    self.connection?.connection.close()
                    self.connection = (leader, try BrokerConnection.connect(
                        host: address.host, port: address.port, group: self.group,
                        clientId: "broker-\(self.nodeId)", timeout: .seconds(2)))
                }
                let (response, _) = try self.connection!.connection.send(request, timeout: .seconds(5)).wait()
                promise.succeed(try decode(response))
            } catch {
                self.connection?.connection.close()
                self.connection = nil
                promise.fail(error)
            }
        }
        return promise.futureResult
    }
}
