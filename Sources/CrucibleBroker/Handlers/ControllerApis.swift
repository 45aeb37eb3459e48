import CrucibleController
import CrucibleProtocol
import NIOConcurrencyHelpers
import NIOCore

/// The controller's own RPCs, served on the controller listener: broker registration and heartbeats (KIP-631)
/// and leaders' ISR changes (AlterPartition). Each answers NOT_CONTROLLER when this node is not the active
/// controller, so the broker looks for the leader again.
enum ControllerApis {
    static func register(into table: inout ApiTable, controller: QuorumController) {
        table.serve(BrokerRegistrationRequest.self, versions: 0...4) { request, context in
            let endpoints = request.listeners.map { BrokerEndpointImage(name: $0.name, host: $0.host, port: Int32($0.port)) }
            return .later(controller.registerBroker(id: request.brokerId, endpoints: endpoints,
                                                    rack: request.rack.flatMap { $0.isEmpty ? nil : $0 },
                                                    incarnation: request.incarnationId)
                .map { epoch in
                    var response = BrokerRegistrationResponse()
                    response.brokerEpoch = epoch
                    return HandlerOutput(response: response)
                }
                .recover { error in
                    var response = BrokerRegistrationResponse()
                    response.errorCode = code(for: error).rawValue
                    return HandlerOutput(response: response)
                }
                .hop(to: context.eventLoop))
        }
        table.serve(BrokerHeartbeatRequest.self, versions: 0...1) { request, context in
            // A broker that dies (SIGKILL, crash) drops its connection at once: fence it after a short grace
            // instead of waiting out the whole session, unless it heartbeats again meanwhile.
            if let closed = context.connectionClosed, watchedConnections.watch(closed) {
                closed.whenComplete { _ in controller.brokerConnectionLost(request.brokerId, nowMs: Clock.monotonicMs()) }
            }
            return .later(controller.heartbeat(broker: request.brokerId, brokerEpoch: request.brokerEpoch,
                                               metadataOffset: request.currentMetadataOffset,
                                               wantShutDown: request.wantShutDown, nowMs: Clock.monotonicMs())
                .map { answer in
                    var response = BrokerHeartbeatResponse()
                    response.errorCode = answer.error.rawValue
                    response.isFenced = answer.isFenced
                    response.isCaughtUp = !answer.isFenced
                    response.shouldShutDown = answer.shouldShutDown
                    return HandlerOutput(response: response)
                }
                .recover { error in
                    var response = BrokerHeartbeatResponse()
                    response.errorCode = code(for: error).rawValue
                    response.isFenced = true
                    return HandlerOutput(response: response)
                }
                .hop(to: context.eventLoop))
        }
        table.serve(AlterPartitionRequest.self, versions: 0...3) { request, context in
            let changes = request.topics.flatMap { topic in
                topic.partitions.map { data -> EventLoopFuture<(KafkaUUID, String, AlterPartitionResponse.PartitionData)> in
                    let topicId = context.version >= 2 ? topic.topicId
                        : controller.currentImage.topic(named: topic.topicName)?.id ?? .zero
                    let isr = context.version >= 3 ? data.newIsrWithEpochs.map(\.brokerId) : data.newIsr
                    return controller.alterPartition(topicId: topicId, partition: data.partitionIndex,
                                                     leaderId: request.brokerId, leaderEpoch: data.leaderEpoch,
                                                     partitionEpoch: data.partitionEpoch, isr: isr)
                        .recover { code(for: $0) }
                        .map { errorCode in
                            var result = AlterPartitionResponse.PartitionData()
                            result.partitionIndex = data.partitionIndex
                            result.errorCode = errorCode.rawValue
                            if let state = controller.currentImage.topic(id: topicId)?.partitions[data.partitionIndex] {
                                result.leaderId = state.leader
                                result.leaderEpoch = state.leaderEpoch
                                result.isr = state.isr
                                result.partitionEpoch = state.partitionEpoch
                            }
                            return (topicId, topic.topicName, result)
                        }
                }
            }
            return .later(EventLoopFuture.whenAllSucceed(changes, on: context.eventLoop).map { results in
                var response = AlterPartitionResponse()
                var byTopic: [KafkaUUID: AlterPartitionResponse.TopicData] = [:]
                for (topicId, name, result) in results {
                    byTopic[topicId, default: { var t = AlterPartitionResponse.TopicData(); t.topicId = topicId; t.topicName = name; return t }()]
                        .partitions.append(result)
                }
                response.topics = Array(byTopic.values)
                return HandlerOutput(response: response)
            })
        }
    }

    /// Connections already watched for closing, so each registers one callback, not one per heartbeat.
    static let watchedConnections = WatchedConnections()

    static func code(for error: Error) -> ErrorCode {
        error is NotControllerError ? .notController : .unknownServerError
    }
}

final class WatchedConnections: @unchecked Sendable {
    private let lock = NIOLock()
    private var watched = Set<ObjectIdentifier>()

    /// True the first time `closed` is seen; forgets it once it completes.
    func watch(_ closed: EventLoopFuture<Void>) -> Bool {
        let id = ObjectIdentifier(closed)
        let first = lock.withLock { watched.insert(id).inserted }
        if first { closed.whenComplete { _ in self.lock.withLock { _ = self.watched.remove(id) } } }
        return first
    }
}
