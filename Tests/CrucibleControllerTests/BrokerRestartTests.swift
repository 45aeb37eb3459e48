import CrucibleProtocol
import Foundation
import NIOPosix
import XCTest
@testable import CrucibleController

/// A broker that comes back faster than its session runs out, and one shutting down, through the controller's
/// own commands on a local quorum.
final class BrokerRestartTests: XCTestCase {
    func withController(_ body: (QuorumController) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "crucible-restart-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let quorum = LocalMetadataQuorum(nodeId: 1, log: try MetadataLog(directory: directory, nowMs: 0), eventLoop: group.next())
        let publisher = MetadataPublisher()
        try quorum.start { publisher.publish($0) }
        defer { quorum.shutdown() }
        try body(QuorumController(quorum: quorum, publisher: publisher, policy: ControllerPolicy(), eventLoop: group.next()))
    }

    /// Registers and unfences `ids`, returning their broker epochs.
    func live(_ controller: QuorumController, _ ids: [Int32]) throws -> [Int32: Int64] {
        var epochs: [Int32: Int64] = [:]
        for id in ids {
            let epoch = try controller.registerBroker(id: id, endpoints: [], incarnation: .random()).wait()
            _ = try controller.heartbeat(broker: id, brokerEpoch: epoch, metadataOffset: .max, wantShutDown: false, nowMs: 0).wait()
            epochs[id] = epoch
        }
        return epochs
    }

    func testARegistrationWhileStillLiveLeavesIsrAndLeadership() throws {
        try withController { controller in
            _ = try live(controller, [1, 2, 3])
            XCTAssertEqual(try controller.createTopics([TopicCreation(name: "t", assignments: [[1, 2, 3]])], validateOnly: false)
                .wait().map(\.error), [ErrorCode.none])
            // Broker 1 restarts before anyone fenced it: its new incarnation may have lost what the old one held.
            let epoch = try controller.registerBroker(id: 1, endpoints: [], incarnation: .random()).wait()
            let partition = controller.currentImage.topic(named: "t")!.partitions[0]!
            XCTAssertEqual(partition.leader, 2)
            XCTAssertEqual(partition.isr, [2, 3])
            XCTAssertTrue(controller.currentImage.brokers[1]!.fenced)
            XCTAssertEqual(epoch, controller.currentImage.appliedOffset, "the epoch is the registration's own offset, after the moves")
        }
    }

    func testABrokerInControlledShutdownCannotJoinAnIsr() throws {
        try withController { controller in
            let epochs = try live(controller, [1, 2, 3])
            _ = try controller.createTopics([TopicCreation(name: "t", assignments: [[1, 2, 3]])], validateOnly: false).wait()
            let answer = try controller.heartbeat(broker: 1, brokerEpoch: epochs[1]!, metadataOffset: .max,
                                                  wantShutDown: true, nowMs: 0).wait()
            XCTAssertFalse(answer.shouldShutDown, "leadership had to move first")
            var partition = controller.currentImage.topic(named: "t")!.partitions[0]!
            XCTAssertEqual(partition.leader, 2)
            XCTAssertEqual(partition.isr, [2, 3])
            // Still fetching on its way out, broker 1 looks caught up to the new leader: it stays out.
            let id = controller.currentImage.topic(named: "t")!.id
            let code = try controller.alterPartition(topicId: id, partition: 0, leaderId: 2, leaderEpoch: partition.leaderEpoch,
                                                     partitionEpoch: partition.partitionEpoch, isr: [1, 2, 3]).wait()
            XCTAssertEqual(code, .ineligibleReplica)
            // Registered again (a new process), it may rejoin once unfenced.
            _ = try live(controller, [1])
            partition = controller.currentImage.topic(named: "t")!.partitions[0]!
            XCTAssertEqual(try controller.alterPartition(topicId: id, partition: 0, leaderId: 2, leaderEpoch: partition.leaderEpoch,
                                                         partitionEpoch: partition.partitionEpoch, isr: [1, 2, 3]).wait(), .none)
        }
    }

    func testAFenceDecidedBeforeARestartDoesNotFenceTheNewIncarnation() throws {
        try withController { controller in
            let old = try live(controller, [1, 2])[1]!
            // The session check saw the old incarnation's last heartbeat (at 0) and decided to fence it; the broker
            // registered again and heartbeat before the command ran.
            let new = try live(controller, [1])[1]!
            XCTAssertNotEqual(old, new)
            try controller.fence(broker: 1, epoch: old, lastHeartbeatMs: 0).wait()
            XCTAssertFalse(controller.currentImage.brokers[1]!.fenced, "the old incarnation's expiry")
            _ = try controller.heartbeat(broker: 1, brokerEpoch: new, metadataOffset: .max, wantShutDown: false, nowMs: 50).wait()
            try controller.fence(broker: 1, epoch: new, lastHeartbeatMs: 10).wait()
            XCTAssertFalse(controller.currentImage.brokers[1]!.fenced, "a heartbeat came after the decision")
            try controller.fence(broker: 1, epoch: new, lastHeartbeatMs: 50).wait()
            XCTAssertTrue(controller.currentImage.brokers[1]!.fenced, "silent since the decision: fenced")
        }
    }
}
