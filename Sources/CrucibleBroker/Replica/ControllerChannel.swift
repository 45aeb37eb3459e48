import CrucibleController
import CrucibleProtocol
import NIOCore

/// How a broker asks the active controller for changes only the controller may make (ISR changes). In one
/// process with the active controller it calls it directly; across nodes the request goes over the controller
/// listener.
protocol ControllerChannel: Sendable {
    func alterPartition(topicId: KafkaUUID, partition: Int32, leaderId: Int32, leaderEpoch: Int32,
                        partitionEpoch: Int32, isr: [Int32]) -> EventLoopFuture<ErrorCode>
}

/// The controller in this process; when it is not the active one the call fails with NotControllerError.
struct LocalControllerChannel: ControllerChannel {
    let controller: QuorumController

    func alterPartition(topicId: KafkaUUID, partition: Int32, leaderId: Int32, leaderEpoch: Int32,
                        partitionEpoch: Int32, isr: [Int32]) -> EventLoopFuture<ErrorCode> {
        controller.alterPartition(topicId: topicId, partition: partition, leaderId: leaderId, leaderEpoch: leaderEpoch,
                                  partitionEpoch: partitionEpoch, isr: isr)
    }
}
