import CrucibleController
import CrucibleProtocol
import NIOCore

/// How a broker asks the active controller for what only the controller may decide: its registration, its
/// heartbeats (and with them fencing and controlled shutdown), ISR changes. In the process of the active
/// controller it calls it directly; across nodes the requests go over the controller listener.
protocol ControllerChannel: Sendable {
    /// The node this broker currently believes to be the active controller, as its metadata quorum knows it.
    var activeControllerId: Int32? { get }
    /// How often a failed call dropped the connection to the controller. The controller fences a broker whose
    /// heartbeat connection closed unless it heartbeats again within a short grace, so a live broker whose
    /// call failed (a timeout on a busy controller) must heartbeat again at once.
    var connectionDrops: Int { get }
    func registerBroker(id: Int32, endpoints: [BrokerEndpointImage], rack: String?,
                        incarnation: KafkaUUID) -> EventLoopFuture<Int64>
    func heartbeat(broker: Int32, brokerEpoch: Int64, wantShutDown: Bool) -> EventLoopFuture<HeartbeatAnswer>
    func alterPartition(topicId: KafkaUUID, partition: Int32, leaderId: Int32, leaderEpoch: Int32,
                        partitionEpoch: Int32, isr: [Int32]) -> EventLoopFuture<ErrorCode>
}

/// A controller in this process; when it is not the active one the calls fail with NotControllerError.
struct LocalControllerChannel: ControllerChannel {
    let controller: QuorumController

    var activeControllerId: Int32? { controller.quorum.leaderId }
    var connectionDrops: Int { 0 }

    func registerBroker(id: Int32, endpoints: [BrokerEndpointImage], rack: String?,
                        incarnation: KafkaUUID) -> EventLoopFuture<Int64> {
        controller.registerBroker(id: id, endpoints: endpoints, rack: rack, incarnation: incarnation)
    }

    func heartbeat(broker: Int32, brokerEpoch: Int64, wantShutDown: Bool) -> EventLoopFuture<HeartbeatAnswer> {
        controller.heartbeat(broker: broker, brokerEpoch: brokerEpoch, metadataOffset: controller.currentImage.appliedOffset,
                             wantShutDown: wantShutDown, nowMs: Clock.monotonicMs())
    }

    func alterPartition(topicId: KafkaUUID, partition: Int32, leaderId: Int32, leaderEpoch: Int32,
                        partitionEpoch: Int32, isr: [Int32]) -> EventLoopFuture<ErrorCode> {
        controller.alterPartition(topicId: topicId, partition: partition, leaderId: leaderId, leaderEpoch: leaderEpoch,
                                  partitionEpoch: partitionEpoch, isr: isr)
    }
}
