import CrucibleProtocol
import Foundation
import NIOPosix
import XCTest
@testable import CrucibleController

/// A broker that comes back faster than its session runs out, and one shutting down, through the controller's
/// own commands on a local quorum.
final class BrokerRestartTests: XCTestCase {
    func withController(policy: ControllerPolicy = ControllerPolicy(), _ body: (QuorumController) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "crucible-restart-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let quorum = LocalMetadataQuorum(nodeId: 1, log: try MetadataLog(directory: directory, nowMs: 0), eventLoop: group.next())
        let publisher = MetadataPublisher()
        try quorum.start { publisher.publish($0) }
        defer { quorum.shutdown() }
        try body(QuorumController(quorum: quorum, publisher: publisher, policy: policy, eventLoop: group.next()))
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

    func testAFinishedControlledShutdownFencesTheBrokerInTheLog() throws {
        try withController { controller in
            let epochs = try live(controller, [1, 2, 3])
            _ = try controller.createTopics([TopicCreation(name: "t", assignments: [[1, 2, 3]]),
                                             TopicCreation(name: "alone", assignments: [[1]])], validateOnly: false).wait()
            var answer = try controller.heartbeat(broker: 1, brokerEpoch: epochs[1]!, metadataOffset: .max,
                                                  wantShutDown: true, nowMs: 0).wait()
            XCTAssertEqual(answer, HeartbeatAnswer(error: .none, isFenced: false, shouldShutDown: false))
            XCTAssertFalse(controller.currentImage.brokers[1]!.fenced, "still leading what it alone holds")
            answer = try controller.heartbeat(broker: 1, brokerEpoch: epochs[1]!, metadataOffset: .max,
                                              wantShutDown: true, nowMs: 0).wait()
            XCTAssertEqual(answer, HeartbeatAnswer(error: .none, isFenced: true, shouldShutDown: true))
            // In the metadata log, so that a controller elected after the broker is gone never elects it.
            XCTAssertTrue(controller.currentImage.brokers[1]!.fenced)
            XCTAssertFalse(controller.currentImage.liveBrokerIds.contains(1))
            let alone = controller.currentImage.topic(named: "alone")!.partitions[0]!
            XCTAssertEqual(alone.leader, -1, "its sole replica is gone")
            XCTAssertEqual(alone.isr, [1], "and may lead again when back")
            // A regular beat sent before the shutdown began, arriving late, does not unfence it.
            answer = try controller.heartbeat(broker: 1, brokerEpoch: epochs[1]!, metadataOffset: .max,
                                              wantShutDown: false, nowMs: 10).wait()
            XCTAssertTrue(answer.isFenced)
            XCTAssertTrue(controller.currentImage.brokers[1]!.fenced)
            // A new process registers, catches up, and leads again.
            _ = try live(controller, [1])
            XCTAssertFalse(controller.currentImage.brokers[1]!.fenced)
            XCTAssertEqual(controller.currentImage.topic(named: "alone")!.partitions[0]!.leader, 1)
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

    /// Leader 1 alone in the ISR dies while stale follower 2 is away; 2 comes back. Whether 2 may lead follows
    /// `unclean.leader.election.enable`: the topic's override, else the cluster-wide dynamic default, else the
    /// controller's own server.properties. (The last was once ignored: `crucible verify`'s unclean-election
    /// scenario, which sets it in server.properties, found no loss because nothing was ever elected.)
    func testUncleanElectionFollowsTopicThenClusterDefaultThenServerProperties() throws {
        struct Case { var serverProperties: Bool; var clusterDefault: String?; var topic: String?; var elected: Bool }
        let cases = [Case(serverProperties: false, clusterDefault: nil, topic: nil, elected: false),
                     Case(serverProperties: true, clusterDefault: nil, topic: nil, elected: true),
                     Case(serverProperties: true, clusterDefault: "false", topic: nil, elected: false),
                     Case(serverProperties: false, clusterDefault: "true", topic: nil, elected: true),
                     Case(serverProperties: true, clusterDefault: "true", topic: "false", elected: false),
                     Case(serverProperties: false, clusterDefault: "false", topic: "true", elected: true)]
        for (index, test) in cases.enumerated() {
            var policy = ControllerPolicy()
            policy.uncleanLeaderElectionDefault = test.serverProperties
            try withController(policy: policy) { controller in
                let epochs = try live(controller, [1, 2])
                if let value = test.clusterDefault {
                    XCTAssertEqual(try controller.alterBrokerConfigs("", [("unclean.leader.election.enable", value)],
                                                                     validateOnly: false).wait().0, .none)
                }
                let configs = test.topic.map { ["unclean.leader.election.enable": $0] } ?? [:]
                _ = try controller.createTopics([TopicCreation(name: "t", configs: configs, assignments: [[1, 2]])],
                                                validateOnly: false).wait()
                try controller.fence(broker: 2, epoch: epochs[2]!, lastHeartbeatMs: 0).wait()
                try controller.fence(broker: 1, epoch: epochs[1]!, lastHeartbeatMs: 0).wait()
                XCTAssertEqual(controller.currentImage.topic(named: "t")!.partitions[0]!.leader, -1, "case \(index)")
                _ = try controller.heartbeat(broker: 2, brokerEpoch: epochs[2]!, metadataOffset: .max, wantShutDown: false,
                                             nowMs: 10).wait()
                XCTAssertEqual(controller.currentImage.topic(named: "t")!.partitions[0]!.leader, test.elected ? 2 : -1, "case \(index)")
            }
        }
    }
}
