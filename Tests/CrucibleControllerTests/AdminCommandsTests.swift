import CrucibleProtocol
import XCTest
@testable import CrucibleController

/// The admin decisions on an image alone: partitions added, manual placement, elections, reassignments.
final class AdminCommandsTests: XCTestCase {
    func topicImage(brokers: [Int32] = [1, 2, 3, 4], assignments: [[Int32]]) -> MetadataImage {
        var image = MetadataImage.withUnfencedBrokers(brokers)
        let (records, results) = ControllerCommands.createTopics([TopicCreation(name: "t", assignments: assignments)],
                                                                 image: image, policy: ControllerPolicy())
        XCTAssertEqual(results.map(\.error), [ErrorCode.none], results.first?.message ?? "")
        image.commit(records)
        return image
    }

    func partition(_ image: MetadataImage, _ index: Int32 = 0) -> PartitionImage { image.topic(named: "t")!.partitions[index]! }

    func testManualAssignmentIsKeptAsGiven() {
        let image = topicImage(assignments: [[2, 3], [3, 1], [4, 2]])
        XCTAssertEqual((0..<3).map { partition(image, $0).replicas }, [[2, 3], [3, 1], [4, 2]])
        XCTAssertEqual((0..<3).map { partition(image, $0).leader }, [2, 3, 4])
    }

    func testManualAssignmentRefusals() {
        let image = MetadataImage.withUnfencedBrokers([1, 2, 3])
        let cases: [(TopicCreation, ErrorCode)] = [
            (TopicCreation(name: "a", assignments: [[1, 7]]), .invalidReplicaAssignment),
            (TopicCreation(name: "b", assignments: [[1, 1]]), .invalidReplicaAssignment),
            (TopicCreation(name: "c", assignments: [[1, 2], [3]]), .invalidReplicaAssignment),
            (TopicCreation(name: "d", assignments: [[]]), .invalidReplicaAssignment),
            (TopicCreation(name: "e", partitions: 2, assignments: [[1]]), .invalidRequest),
        ]
        for (creation, expected) in cases {
            let (records, results) = ControllerCommands.createTopics([creation], image: image, policy: ControllerPolicy())
            XCTAssertEqual(results.first?.error, expected, creation.name)
            XCTAssertTrue(records.isEmpty, creation.name)
        }
    }

    func testCreatePartitionsGrowsWithTheTopicsReplicationFactor() {
        var image = topicImage(assignments: [[1, 2]])
        let (records, result) = ControllerCommands.createPartitions(topic: "t", count: 4, assignments: nil, image: image)
        XCTAssertEqual(result.0, .none)
        image.commit(records)
        XCTAssertEqual(image.topic(named: "t")!.partitionCount, 4)
        for index in 1..<4 { XCTAssertEqual(partition(image, Int32(index)).replicas.count, 2) }
        XCTAssertEqual(ControllerCommands.createPartitions(topic: "t", count: 4, assignments: nil, image: image).1.0, .invalidPartitions)
        XCTAssertEqual(ControllerCommands.createPartitions(topic: "t", count: 2, assignments: nil, image: image).1.0, .invalidPartitions)
        XCTAssertEqual(ControllerCommands.createPartitions(topic: "u", count: 2, assignments: nil, image: image).1.0, .unknownTopicOrPartition)
        XCTAssertEqual(ControllerCommands.createPartitions(topic: "t", count: 6, assignments: [[1, 2]], image: image).1.0,
                       .invalidReplicaAssignment, "one assignment for two new partitions")
        let (manual, ok) = ControllerCommands.createPartitions(topic: "t", count: 5, assignments: [[4, 3]], image: image)
        XCTAssertEqual(ok.0, .none)
        image.commit(manual)
        XCTAssertEqual(partition(image, 4).replicas, [4, 3])
    }

    func testPreferredElectionReturnsLeadershipOnlyToAnInSyncPreferredReplica() {
        var image = topicImage(assignments: [[1, 2, 3]])
        var change = PartitionChangeRecord()
        change.topicId = image.topic(named: "t")!.id
        change.partitionId = 0
        change.leader = 2
        change.isr = [2, 3]
        image.commit([change])
        let wanted = [(topic: "t", partition: Int32(0))]
        XCTAssertEqual(ControllerCommands.electLeaders(.preferred, partitions: wanted, image: image).1.first?.error,
                       .preferredLeaderNotAvailable, "1 is not in the ISR")
        change.leader = -2
        change.isr = [1, 2, 3]
        image.commit([change])
        let (records, outcomes) = ControllerCommands.electLeaders(.preferred, partitions: wanted, image: image)
        XCTAssertEqual(outcomes.first?.error, ErrorCode.none)
        image.commit(records)
        XCTAssertEqual(partition(image).leader, 1)
        XCTAssertEqual(ControllerCommands.electLeaders(.preferred, partitions: wanted, image: image).1.first?.error, .electionNotNeeded)
        XCTAssertEqual(ControllerCommands.electLeaders(.unclean, partitions: wanted, image: image).1.first?.error, .electionNotNeeded)
        XCTAssertTrue(ControllerCommands.electLeaders(.preferred, partitions: nil, image: image).1.isEmpty,
                      "all partitions: those needing no election are left out")
        XCTAssertEqual(ControllerCommands.electLeaders(.preferred, partitions: [("t", 9)], image: image).1.first?.error,
                       .unknownTopicOrPartition)
    }

    func testReassignmentAddsThenCompletesWhenTheNewReplicasAreInSync() {
        var image = topicImage(assignments: [[1, 2]])
        let id = image.topic(named: "t")!.id
        let (records, outcomes) = ControllerCommands.alterReassignments(
            [ReassignmentRequest(topic: "t", partition: 0, replicas: [2, 3])], image: image)
        XCTAssertEqual(outcomes.map(\.error), [ErrorCode.none])
        image.commit(records)
        XCTAssertEqual(partition(image).replicas, [2, 3, 1])
        XCTAssertEqual(partition(image).addingReplicas, [3])
        XCTAssertEqual(partition(image).removingReplicas, [1])
        XCTAssertEqual(partition(image).leader, 1, "leadership stays until the move completes")
        // Replica 3 catches up: the leader's ISR expansion completes the move and hands leadership to 2.
        let current = partition(image)
        let (isr, code) = ControllerCommands.alterPartition(topicId: id, partition: 0, leaderId: 1,
                                                            leaderEpoch: current.leaderEpoch,
                                                            partitionEpoch: current.partitionEpoch, isr: [1, 2, 3], image: image)
        XCTAssertEqual(code, .none)
        image.commit(isr)
        XCTAssertEqual(partition(image).replicas, [2, 3])
        XCTAssertEqual(partition(image).isr, [2, 3])
        XCTAssertEqual(partition(image).leader, 2)
        XCTAssertFalse(partition(image).isReassigning)
        XCTAssertTrue(ControllerCommands.reassignments(in: image, wanted: nil).isEmpty)
    }

    func testCancelledReassignmentReturnsToTheOriginalReplicas() {
        var image = topicImage(assignments: [[1, 2]])
        let (records, _) = ControllerCommands.alterReassignments(
            [ReassignmentRequest(topic: "t", partition: 0, replicas: [3, 4])], image: image)
        image.commit(records)
        XCTAssertEqual(ControllerCommands.reassignments(in: image, wanted: nil).count, 1)
        let (cancel, outcomes) = ControllerCommands.alterReassignments(
            [ReassignmentRequest(topic: "t", partition: 0, replicas: nil)], image: image)
        XCTAssertEqual(outcomes.map(\.error), [ErrorCode.none])
        image.commit(cancel)
        XCTAssertEqual(partition(image).replicas, [1, 2])
        XCTAssertEqual(partition(image).isr, [1, 2])
        XCTAssertEqual(partition(image).leader, 1)
        XCTAssertFalse(partition(image).isReassigning)
        XCTAssertEqual(ControllerCommands.alterReassignments([ReassignmentRequest(topic: "t", partition: 0, replicas: nil)],
                                                             image: image).1.map(\.error), [.noReassignmentInProgress])
        XCTAssertEqual(ControllerCommands.alterReassignments([ReassignmentRequest(topic: "t", partition: 0, replicas: [1, 9])],
                                                             image: image).1.map(\.error), [.invalidReplicaAssignment])
        XCTAssertEqual(ControllerCommands.alterReassignments([ReassignmentRequest(topic: "x", partition: 0, replicas: [1])],
                                                             image: image).1.map(\.error), [.unknownTopicOrPartition])
    }

    func testReassignmentSurvivesASnapshot() {
        var image = topicImage(assignments: [[1, 2]])
        let (records, _) = ControllerCommands.alterReassignments(
            [ReassignmentRequest(topic: "t", partition: 0, replicas: [2, 3])], image: image)
        image.commit(records)
        var rebuilt = MetadataImage()
        rebuilt.commit(image.snapshotRecords())
        XCTAssertEqual(rebuilt.topic(named: "t"), image.topic(named: "t"))
    }
}

extension AdminCommandsTests {
    func testAutomaticRebalanceWaitsForTheImbalanceThreshold() {
        // Broker 1 is preferred for ten partitions and has lost the lead of one: 10% is not above 10%.
        var image = MetadataImage.withUnfencedBrokers([1, 2])
        let (records, _) = ControllerCommands.createTopics(
            [TopicCreation(name: "t", assignments: Array(repeating: [1, 2], count: 10))], image: image, policy: ControllerPolicy())
        image.commit(records)
        func moveLeader(_ index: Int32) {
            var change = PartitionChangeRecord()
            change.topicId = image.topic(named: "t")!.id
            change.partitionId = index
            change.leader = 2
            image.commit([change])
        }
        moveLeader(0)
        XCTAssertTrue(ControllerCommands.preferredLeaders(image: image, imbalancePercentage: 10).isEmpty)
        moveLeader(1)
        XCTAssertEqual(ControllerCommands.preferredLeaders(image: image, imbalancePercentage: 10).count, 2, "20% is above 10%")
        XCTAssertEqual(ControllerCommands.preferredLeaders(image: image, imbalancePercentage: 25).count, 0)
    }
}
