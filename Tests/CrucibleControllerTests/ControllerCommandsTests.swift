import CrucibleProtocol
import Foundation
import NIOPosix
import XCTest
@testable import CrucibleController

final class ControllerCommandsTests: XCTestCase {
    func imageWithBrokers(_ ids: [Int32]) -> MetadataImage { .withUnfencedBrokers(ids) }

    func apply(_ records: [any KafkaMetadataRecord], to image: inout MetadataImage) { image.commit(records) }

    func testCreateTopicsSpreadsReplicasAndLeaders() {
        var image = imageWithBrokers([1, 2, 3])
        let (records, results) = ControllerCommands.createTopics(
            [TopicCreation(name: "t", partitions: 6, replicationFactor: 3, configs: ["retention.ms": "5"])],
            image: image, policy: ControllerPolicy())
        XCTAssertEqual(results.map(\.error), [.none])
        apply(records, to: &image)
        let topic = image.topic(named: "t")!
        XCTAssertEqual(topic.partitionCount, 6)
        XCTAssertEqual(topic.configs, ["retention.ms": "5"])
        for partition in topic.partitions.values {
            XCTAssertEqual(Set(partition.replicas).count, 3, "replicas are distinct")
            XCTAssertEqual(partition.isr, partition.replicas)
            XCTAssertEqual(partition.leader, partition.replicas[0])
        }
        // Leaders spread over all brokers.
        XCTAssertEqual(Set(topic.partitions.values.map(\.leader)), [1, 2, 3])
    }

    func testCreateTopicsRefusesWhatKafkaRefuses() {
        var image = imageWithBrokers([1])
        let (records, _) = ControllerCommands.createTopics([TopicCreation(name: "exists")], image: image,
                                                           policy: ControllerPolicy())
        apply(records, to: &image)
        var policy = ControllerPolicy()
        policy.validateTopicConfig = { key, _ in if key == "bad" { throw NSError(domain: "x", code: 1) } }
        let (none, results) = ControllerCommands.createTopics([
            TopicCreation(name: "exists"),
            TopicCreation(name: "bad name!"),
            TopicCreation(name: "zero", partitions: 0),
            TopicCreation(name: "rf", replicationFactor: 2),
            TopicCreation(name: "cfg", configs: ["bad": "1"]),
            TopicCreation(name: "dup"), TopicCreation(name: "dup"),
        ], image: image, policy: policy)
        XCTAssertEqual(results.map(\.error), [.topicAlreadyExists, .invalidTopicException, .invalidPartitions,
                                              .invalidReplicationFactor, .invalidConfig, .none, .topicAlreadyExists])
        XCTAssertEqual(none.compactMap { $0 as? TopicRecord }.map(\.name), ["dup"])
    }

    func testDeleteAndAlterAndProducerIds() {
        var image = imageWithBrokers([1])
        apply(ControllerCommands.createTopics([TopicCreation(name: "t")], image: image, policy: ControllerPolicy()).0,
              to: &image)
        let (alter, result) = ControllerCommands.alterTopicConfigs("t", [("segment.bytes", "100"), ("retention.ms", nil)],
                                                                   image: image, policy: ControllerPolicy())
        XCTAssertEqual(result.0, .none)
        apply(alter, to: &image)
        XCTAssertEqual(image.topic(named: "t")!.configs, ["segment.bytes": "100"])
        let (ids1, first) = ControllerCommands.allocateProducerIds(brokerId: 1, blockSize: 10, image: image)
        apply(ids1, to: &image)
        let (_, second) = ControllerCommands.allocateProducerIds(brokerId: 1, blockSize: 10, image: image)
        XCTAssertEqual(first, 0...9)
        XCTAssertEqual(second, 10...19)
        let (delete, results) = ControllerCommands.deleteTopics(["t", "missing"], image: image)
        XCTAssertEqual(results, ["t": .none, "missing": .unknownTopicOrPartition])
        apply(delete, to: &image)
        XCTAssertNil(image.topic(named: "t"))
    }

    func testPartitionChangeMovesLeaderEpochOnlyWithTheLeader() {
        var image = imageWithBrokers([1, 2, 3])
        apply(ControllerCommands.createTopics([TopicCreation(name: "t", partitions: 1, replicationFactor: 3)],
                                              image: image, policy: ControllerPolicy()).0, to: &image)
        let topic = image.topic(named: "t")!
        var shrink = PartitionChangeRecord()
        shrink.topicId = topic.id
        shrink.partitionId = 0
        shrink.isr = [topic.partitions[0]!.leader]
        apply([shrink], to: &image)
        XCTAssertEqual(image.topic(named: "t")!.partitions[0]!.leaderEpoch, 0)
        XCTAssertEqual(image.topic(named: "t")!.partitions[0]!.partitionEpoch, 1)
        var move = PartitionChangeRecord()
        move.topicId = topic.id
        move.partitionId = 0
        move.leader = -1
        apply([move], to: &image)
        XCTAssertEqual(image.topic(named: "t")!.partitions[0]!.leader, -1)
        XCTAssertEqual(image.topic(named: "t")!.partitions[0]!.leaderEpoch, 1)
    }

    func imageWithTopic(rf: Int16) -> (MetadataImage, KafkaUUID) {
        var image = imageWithBrokers([1, 2, 3])
        apply(ControllerCommands.createTopics([TopicCreation(name: "t", partitions: 1, replicationFactor: rf)],
                                              image: image, policy: ControllerPolicy()).0, to: &image)
        return (image, image.topic(named: "t")!.id)
    }

    func testFencedLeaderIsReplacedFromTheIsr() {
        var (image, _) = imageWithTopic(rf: 3)
        let before = image.topic(named: "t")!.partitions[0]!
        let live = Set([1, 2, 3].filter { $0 != before.leader }.map { Int32($0) })
        let moved = ControllerCommands.moveAwayFrom(broker: before.leader, image: image, live: live, uncleanAllowed: { _ in false })
        XCTAssertEqual(LeaderElections(moved, decidedOn: image), LeaderElections(clean: 1), "a leader from the ISR is clean")
        apply(moved, to: &image)
        XCTAssertEqual(LeaderElections(moved, decidedOn: image), LeaderElections(), "against its own result nothing changes")
        let after = image.topic(named: "t")!.partitions[0]!
        XCTAssertNotEqual(after.leader, before.leader)
        XCTAssertTrue(before.isr.contains(after.leader))
        XCTAssertFalse(after.isr.contains(before.leader))
        XCTAssertEqual(after.leaderEpoch, before.leaderEpoch + 1)
    }

    func testNoLiveIsrMemberKeepsThePartitionOfflineUnlessUncleanIsAllowed() {
        for unclean in [false, true] {
            var (image, id) = imageWithTopic(rf: 2)
            let partition = image.topic(named: "t")!.partitions[0]!
            let (leader, follower) = (partition.leader, partition.replicas.first { $0 != partition.leader }!)
            // The follower left the ISR earlier; now the leader is fenced and the follower is down too.
            apply(ControllerCommands.alterPartition(topicId: id, partition: 0, leaderId: leader, leaderEpoch: 0,
                                                    partitionEpoch: 0, isr: [leader], image: image).0, to: &image)
            let offline = ControllerCommands.moveAwayFrom(broker: leader, image: image, live: [], uncleanAllowed: { _ in unclean })
            XCTAssertEqual(LeaderElections(offline, decidedOn: image), LeaderElections(), "going offline elects nobody")
            apply(offline, to: &image)
            XCTAssertEqual(image.topic(named: "t")!.partitions[0]!.leader, -1)
            XCTAssertEqual(image.topic(named: "t")!.partitions[0]!.isr, [leader], "the last ISR member stays in it")
            // The stale follower returns: only unclean election lets it lead.
            let returning = ControllerCommands.electReturning(broker: follower, image: image, uncleanAllowed: { _ in unclean })
            XCTAssertEqual(LeaderElections(returning, decidedOn: image), unclean ? LeaderElections(unclean: 1) : LeaderElections())
            apply(returning, to: &image)
            XCTAssertEqual(image.topic(named: "t")!.partitions[0]!.leader, unclean ? follower : -1)
            // The last ISR member returns: it leads, cleanly.
            if !unclean {
                apply(ControllerCommands.electReturning(broker: leader, image: image, uncleanAllowed: { _ in false }),
                      to: &image)
                XCTAssertEqual(image.topic(named: "t")!.partitions[0]!.leader, leader)
            }
        }
    }

    func testPreferredLeaderReturnsOnlyWhenInSyncAndLive() {
        var (image, _) = imageWithTopic(rf: 3)
        let preferred = image.topic(named: "t")!.partitions[0]!.replicas[0]
        let live = Set([1, 2, 3].map { Int32($0) }).subtracting([preferred])
        apply(ControllerCommands.moveAwayFrom(broker: preferred, image: image, live: live, uncleanAllowed: { _ in false }),
              to: &image)
        XCTAssertNotEqual(image.topic(named: "t")!.partitions[0]!.leader, preferred)
        XCTAssertTrue(ControllerCommands.preferredLeaders(image: image).isEmpty, "not in the ISR: stays put")
        let partition = image.topic(named: "t")!.partitions[0]!
        apply(ControllerCommands.alterPartition(topicId: image.topic(named: "t")!.id, partition: 0,
                                                leaderId: partition.leader, leaderEpoch: partition.leaderEpoch,
                                                partitionEpoch: partition.partitionEpoch,
                                                isr: partition.isr + [preferred], image: image).0, to: &image)
        apply(ControllerCommands.preferredLeaders(image: image), to: &image)
        XCTAssertEqual(image.topic(named: "t")!.partitions[0]!.leader, preferred)
    }

    func testStaleAlterPartitionIsRefused() {
        let (image, id) = imageWithTopic(rf: 3)
        let partition = image.topic(named: "t")!.partitions[0]!
        let shrunk = Array(partition.isr.prefix(2))
        XCTAssertEqual(ControllerCommands.alterPartition(topicId: id, partition: 0, leaderId: partition.leader,
                                                         leaderEpoch: 5, partitionEpoch: 0, isr: shrunk, image: image).1,
                       .fencedLeaderEpoch)
        XCTAssertEqual(ControllerCommands.alterPartition(topicId: id, partition: 0, leaderId: partition.leader,
                                                         leaderEpoch: 0, partitionEpoch: 3, isr: shrunk, image: image).1,
                       .invalidUpdateVersion)
        XCTAssertEqual(ControllerCommands.alterPartition(topicId: id, partition: 0, leaderId: partition.leader,
                                                         leaderEpoch: 0, partitionEpoch: 0, isr: [9], image: image).1,
                       .invalidRequest)
    }

    func testLocalQuorumReplaysToTheSameImage() throws {
        let directory = NSTemporaryDirectory() + "crucible-meta-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        func run(_ body: (QuorumController) throws -> Void) throws -> MetadataImage {
            let quorum = LocalMetadataQuorum(nodeId: 1, log: try MetadataLog(directory: directory, nowMs: 0),
                                             eventLoop: group.next())
            let publisher = MetadataPublisher()
            try quorum.start { publisher.publish($0) }
            let controller = QuorumController(quorum: quorum, publisher: publisher, policy: ControllerPolicy(),
                                              eventLoop: group.next())
            try body(controller)
            quorum.shutdown()
            return publisher.currentImage
        }
        let written = try run { controller in
            let epoch = try controller.registerBroker(id: 1, endpoints: [], incarnation: .random()).wait()
            XCTAssertTrue(controller.currentImage.brokers[1]!.fenced, "brokers register fenced")
            let behind = try controller.heartbeat(broker: 1, brokerEpoch: epoch, metadataOffset: epoch - 1,
                                                  wantShutDown: false, nowMs: 0).wait()
            XCTAssertTrue(behind.isFenced, "a broker behind its own registration stays fenced")
            let answer = try controller.heartbeat(broker: 1, brokerEpoch: epoch, metadataOffset: epoch,
                                                  wantShutDown: false, nowMs: 0).wait()
            XCTAssertEqual(answer, HeartbeatAnswer(error: .none, isFenced: false, shouldShutDown: false))
            XCTAssertFalse(controller.currentImage.brokers[1]!.fenced)
            let results = try controller.createTopics([TopicCreation(name: "a", partitions: 3), TopicCreation(name: "b")],
                                                      validateOnly: false).wait()
            XCTAssertEqual(results.map(\.error), [.none, .none])
            XCTAssertEqual(try controller.deleteTopics(["b"]).wait(), ["b": .none])
        }
        let replayed = try run { _ in }
        XCTAssertEqual(replayed, written)
        XCTAssertEqual(replayed.topic(named: "a")?.partitionCount, 3)
        XCTAssertNil(replayed.topic(named: "b"))
    }
}
