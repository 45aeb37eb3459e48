import ArgumentParser
import CrucibleClient
import CrucibleGroups
import CrucibleRecords
import NIOCore
import XCTest

@testable import crucible

final class ConsumerGroupsOutputTests: XCTestCase {
    func testDescribeColumnsAreKafkasWithDashesForWhatIsUnknown() {
        let rows = [
            PartitionOffsetRow(group: "g", topic: "orders", partition: 0, currentOffset: 3, logEndOffset: 10,
                               consumerId: "console-consumer-1", host: "/127.0.0.1", clientId: "console-consumer"),
            PartitionOffsetRow(group: "g", topic: "orders", partition: 1, currentOffset: nil, logEndOffset: 4),
        ]
        XCTAssertEqual(rows[0].lag, 7)
        XCTAssertNil(rows[1].lag)
        let expected = """

            GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID        HOST            CLIENT-ID
            g               orders          0          3               10              7               console-consumer-1 /127.0.0.1      console-consumer
            g               orders          1          -               4               -               -                  -               -

            """
        XCTAssertEqual(ConsumerGroupsOutput.offsets(rows), expected)
    }

    func testMembersLinesEndInASpaceAndVerboseListsPartitions() {
        let row = MemberRow(group: "g", consumerId: "m-1", groupInstanceId: "", host: "/10.0.0.1", clientId: "c",
                            assignment: [TopicPartition("b", 2), TopicPartition("a", 1), TopicPartition("a", 0)])
        XCTAssertEqual(ConsumerGroupsOutput.members([row], verbose: false), """

            GROUP           CONSUMER-ID     HOST            CLIENT-ID       #PARTITIONS     \("")
            g               m-1             /10.0.0.1       c               3               \("")

            """)
        XCTAssertTrue(ConsumerGroupsOutput.members([row], verbose: true).hasSuffix("3               a(0,1), b(2)\n"))
    }

    func testStateUsesTheCoordinatorWidthForTheGroupColumn() {
        let row = GroupStateRow(group: "g", coordinator: BrokerAddress(nodeId: 1, host: "127.0.0.1", port: 9092),
                                assignmentStrategy: "range", state: "Stable", members: 2)
        XCTAssertEqual(ConsumerGroupsOutput.state(row), """

            GROUP                     COORDINATOR (ID)          ASSIGNMENT-STRATEGY  STATE           #MEMBERS
            g                         127.0.0.1:9092  (1)       range                Stable          2

            """)
    }

    func testResetPlanAndDeletedOffsets() {
        let plan = ConsumerGroupsOutput.resetPlan([("g", [TopicPartition("t", 1): 5, TopicPartition("t", 0): 7])])
        let line = { (a: String, b: String, c: String, d: String) in
            ConsumerGroupsOutput.pad(a, 30) + " " + ConsumerGroupsOutput.pad(b, 30) + " " + ConsumerGroupsOutput.pad(c, 10)
                + " " + ConsumerGroupsOutput.pad(d, 15)
        }
        XCTAssertEqual(plan, "\n" + line("GROUP", "TOPIC", "PARTITION", "NEW-OFFSET") + "\n" + line("g", "t", "0", "7")
                       + "\n" + line("g", "t", "1", "5") + "\n")
        XCTAssertEqual(ConsumerGroupsOutput.resetPlan([]), "\n")
        let deleted = ConsumerGroupsOutput.deletedOffsets([(TopicPartition("t", 0), nil), (TopicPartition("gone", -1), "X")])
        XCTAssertTrue(deleted.contains("\ngone                           Not Provided    Error: :X"))
        XCTAssertTrue(deleted.contains("\nt                              0               Successful"))
    }

    func testTopicArgumentsWithPartitionLists() throws {
        XCTAssertEqual(try ConsumerGroupsCommand.parseTopicPartitions("t").partitions, nil)
        XCTAssertEqual(try ConsumerGroupsCommand.parseTopicPartitions("t:0,2").partitions, [0, 2])
        for bad in ["t:", "t:x", ":0", "t:0:1", "t:-1"] {
            XCTAssertThrowsError(try ConsumerGroupsCommand.parseTopicPartitions(bad), bad)
        }
    }

    func testBadCombinationsNameTheFlag() throws {
        let b = ["--bootstrap-server", "127.0.0.1:9092"]
        let cases: [([String], String)] = [
            (["--list", "--describe"], "exactly one action"),
            (["--describe"], "--group"),
            (["--describe", "--group", "g", "--members", "--state"], "--members"),
            (["--reset-offsets", "--group", "g", "--topic", "t"], "--to-earliest"),
            (["--reset-offsets", "--group", "g", "--to-latest"], "--all-topics"),
            (["--reset-offsets", "--group", "g", "--all-topics", "--to-latest", "--to-earliest"], "--to-earliest"),
            (["--reset-offsets", "--group", "g", "--all-topics", "--to-latest", "--dry-run", "--execute"], "--execute"),
            (["--describe", "--group", "g", "--to-latest"], "--to-latest"),
            (["--delete", "--group", "g", "--topic", "t"], "--topic"),
            (["--delete-offsets", "--group", "g"], "--topic"),
            (["--list", "--members"], "--members"),
        ]
        for (arguments, named) in cases {
            let command = try ConsumerGroupsCommand.parse(b + arguments)
            XCTAssertThrowsError(try command.checkArguments(), "\(arguments)") { error in
                XCTAssertTrue(error is UsageError && "\(error)".contains(named), "\(arguments): \(error)")
            }
        }
        let datetime = try ConsumerGroupsCommand.parse(b + ["--reset-offsets", "--group", "g", "--all-topics",
                                                            "--to-datetime", "2024-01-01"])
        XCTAssertThrowsError(try datetime.resetSpec()) { XCTAssertTrue("\($0)".contains("--to-datetime")) }
        let shift = try ConsumerGroupsCommand.parse(b + ["--reset-offsets", "--group", "g", "--all-topics", "--shift-by", "-3"])
        XCTAssertNoThrow(try shift.checkArguments())
        XCTAssertEqual(try shift.resetSpec(), .shiftBy(-3))
    }

    func testOffsetsDecoderPrintsKafkasJSON() {
        let commit = OffsetsTopicRecord.offsetCommit(OffsetCommitKey(group: "g", topic: "t", partition: 2),
                                                     OffsetCommitValue(offset: 7, leaderEpoch: 1, commitTimestamp: 99))
        let printed = OffsetsDecoder.format(record(commit))
        XCTAssertEqual(printed.key, #"{"type":"1","data":{"group":"g","topic":"t","partition":2}}"#)
        XCTAssertEqual(printed.payload,
                       #"{"version":"3","data":{"offset":7,"leaderEpoch":1,"metadata":"","commitTimestamp":99}}"#)
        XCTAssertEqual(OffsetsDecoder.format(record(.offsetCommit(OffsetCommitKey(group: "g", topic: "t", partition: 2), nil))).payload,
                       "<DELETE>")
        let subscription = ConsumerProtocol.Subscription(topics: ["t"]).encode()
        let assignment = ConsumerProtocol.Assignment(partitions: [.init(topic: "t", partitions: [0, 1])]).encode()
        let member = GroupMetadataValue.Member(memberId: "m", groupInstanceId: nil, clientId: "c", clientHost: "/h",
                                               rebalanceTimeoutMs: 300, sessionTimeoutMs: 45, subscription: subscription,
                                               assignment: assignment)
        let group = OffsetsTopicRecord.groupMetadata(group: "g", GroupMetadataValue(
            protocolType: "consumer", generation: 4, protocolName: "range", leader: "m", currentStateTimestamp: 5,
            members: [member]))
        let described = OffsetsDecoder.format(record(group))
        XCTAssertEqual(described.key, #"{"type":"2","data":{"group":"g"}}"#)
        XCTAssertEqual(described.payload, #"{"version":"3","data":{"protocolType":"consumer","generation":4,"protocol":"range","#
                       + #""leader":"m","currentStateTimestamp":5,"members":[{"memberId":"m","groupInstanceId":null,"#
                       + #""clientId":"c","clientHost":"/h","rebalanceTimeout":300,"sessionTimeout":45,"#
                       + #""subscription":{"topics":["t"],"userData":null,"ownedPartitions":[]},"#
                       + #""assignment":{"assignedPartitions":[{"topic":"t","partitions":[0,1]}],"userData":null}}]}}"#)
        XCTAssertEqual(OffsetsDecoder.format(Record(offset: 8, key: [0, 9], value: nil)).key,
                       "Unknown record type 9 at offset 8, skipping.")
    }

    private func record(_ entry: OffsetsTopicRecord) -> Record {
        Record(offset: 0, key: Array(entry.encodeKey().readableBytesView),
               value: entry.encodeValue().map { Array($0.readableBytesView) })
    }
}
