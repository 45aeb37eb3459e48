import CrucibleSecurity
import CrucibleClient
import CrucibleController
import CrucibleProtocol
import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Reaches whichever node is the active controller: in process when it is this one, else over its controller
/// listener (from `controller.quorum.voters`). A failed call drops the connection; the caller's next attempt
/// finds the leader again.
final class ActiveControllerChannel: ControllerChannel, @unchecked Sendable {
    private let local: QuorumController
    private let voters: [Int32: (host: String, port: Int)]
    private let group: EventLoopGroup
    private let nodeId: Int32
    private let logger: Logger
    private let security: ClientSecurity
    private let queue = DispatchQueue(label: "crucible.controller-channel")
    private var connection: (leader: Int32, connection: BrokerConnection)?
    private let drops = NIOLockedValueBox(0)

    init(local: QuorumController, voters: [Int32: (host: String, port: Int)], group: EventLoopGroup, nodeId: Int32,
         logger: Logger, security: ClientSecurity) {
        self.security = security
        self.local = local
        self.voters = voters
        self.group = group
        self.nodeId = nodeId
        self.logger = logger
    }

    var activeControllerId: Int32? { local.quorum.leaderId }
    var connectionDrops: Int { drops.withLockedValue { $0 } }

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

    /// Sends `request` to the active controller: connecting happens on a queue of its own (it blocks), the
    /// requests themselves are pipelined on the connection. A failed exchange drops the connection (counted in
    /// `connectionDrops`); the next call connects to whichever node leads then.
    private func remote<Request: KafkaRequest, Answer: Sendable>(
        _ request: Request, _ decode: @escaping @Sendable (Request.Response) throws -> Answer)
        -> EventLoopFuture<Answer> {
        let promise = group.next().makePromise(of: Answer.self)
        queue.async {
            let connection: BrokerConnection
            do {
                connection = try self.connectionToLeader()
            } catch {
                promise.fail(error)
                return
            }
            connection.send(request, timeout: .seconds(5)).whenComplete { result in
                switch result {
                case .success(let (response, _)):
                    promise.completeWith(Result { try decode(response) })
                case .failure(let error):
                    self.queue.async { self.drop(connection) }
                    promise.fail(error)
                }
            }
        }
        return promise.futureResult
    }

    /// The open connection to the active controller, made on first use or after the leader moved. On `queue`.
    private func connectionToLeader() throws -> BrokerConnection {
        guard let leader = local.quorum.leaderId, let address = voters[leader] else {
            throw NotControllerError(leaderId: nil)
        }
        if let current = connection, current.leader == leader, current.connection.isActive { return current.connection }
        if let stale = connection { drop(stale.connection) }
        let fresh = try BrokerConnection.connect(host: address.host, port: address.port, group: group,
                                                 clientId: "broker-\(nodeId)", timeout: .seconds(2),
                                                 security: security)
        connection = (leader, fresh)
        return fresh
    }

    /// Closes `dropped` if it is still the connection in use. On `queue`.
    private func drop(_ dropped: BrokerConnection) {
        guard let current = connection, current.connection === dropped else { return }
        current.connection.close()
        connection = nil
        drops.withLockedValue { $0 += 1 }
    }
}
