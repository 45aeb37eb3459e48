import CrucibleGroups
import NIOCore
import XCTest

final class OffsetsTopicRecordTests: XCTestCase {
    func testOffsetCommitRoundTripsInKafkasLayout() throws {
        let record = OffsetsTopicRecord.offsetCommit(
            OffsetCommitKey(group: "g", topic: "t", partition: 7),
            OffsetCommitValue(offset: 42, leaderEpoch: 3, metadata: "m", commitTimestamp: 1_700_000_000_000))
        let key = record.encodeKey()
        // Key version 1, then group "g", topic "t", partition 7.
        XCTAssertEqual(Array(key.readableBytesView), [0, 1, 0, 1, 0x67, 0, 1, 0x74, 0, 0, 0, 7])
        let value = try XCTUnwrap(record.encodeValue())
        XCTAssertEqual(value.getInteger(at: value.readerIndex, as: Int16.self), 3)
        XCTAssertEqual(try OffsetsTopicRecord.decode(key: key, value: value), record)
    }

    func testExplicitExpiryIsWrittenAsVersionOne() throws {
        let record = OffsetsTopicRecord.offsetCommit(
            OffsetCommitKey(group: "g", topic: "t", partition: 0),
            OffsetCommitValue(offset: 1, metadata: "", commitTimestamp: 5, expireTimestamp: 10))
        let value = try XCTUnwrap(record.encodeValue())
        XCTAssertEqual(value.getInteger(at: value.readerIndex, as: Int16.self), 1)
        XCTAssertEqual(try OffsetsTopicRecord.decode(key: record.encodeKey(), value: value), record)
    }

    func testGroupMetadataRoundTripsAndTombstonesDecode() throws {
        let member = GroupMetadataValue.Member(memberId: "c-1", groupInstanceId: "i1", clientId: "c", clientHost: "/127.0.0.1",
                                               rebalanceTimeoutMs: 300_000, sessionTimeoutMs: 45_000,
                                               subscription: [0, 1, 2], assignment: [])
        let record = OffsetsTopicRecord.groupMetadata(group: "g", GroupMetadataValue(
            protocolType: "consumer", generation: 4, protocolName: "range", leader: "c-1",
            currentStateTimestamp: 99, members: [member]))
        XCTAssertEqual(try OffsetsTopicRecord.decode(key: record.encodeKey(), value: record.encodeValue()), record)
        let tombstone = OffsetsTopicRecord.groupMetadata(group: "g", nil)
        XCTAssertNil(tombstone.encodeValue())
        XCTAssertEqual(try OffsetsTopicRecord.decode(key: tombstone.encodeKey(), value: nil), tombstone)
    }

    func testTruncatedValueIsRefused() throws {
        let record = OffsetsTopicRecord.offsetCommit(OffsetCommitKey(group: "g", topic: "t", partition: 0),
                                                     OffsetCommitValue(offset: 1, commitTimestamp: 5))
        var value = try XCTUnwrap(record.encodeValue())
        value.moveWriterIndex(to: value.writerIndex - 3)
        XCTAssertThrowsError(try OffsetsTopicRecord.decode(key: record.encodeKey(), value: value))
    }

    func testConsumerProtocolRoundTripAndRangeAssignment() throws {
        let subscription = ConsumerProtocol.Subscription(topics: ["a", "b"], ownedPartitions: [.init(topic: "a", partitions: [1])])
        XCTAssertEqual(try ConsumerProtocol.Subscription.decode(subscription.encode()), subscription)
        let assignment = ConsumerProtocol.Assignment(partitions: [.init(topic: "a", partitions: [0, 1])])
        XCTAssertEqual(try ConsumerProtocol.Assignment.decode(assignment.encode()), assignment)
        XCTAssertEqual(try ConsumerProtocol.Assignment.decode([]).partitions, [])

        let subs = ["m2": ConsumerProtocol.Subscription(topics: ["a"]), "m1": ConsumerProtocol.Subscription(topics: ["a"])]
        let assigned = ConsumerProtocol.rangeAssign(subscriptions: subs, partitionCounts: ["a": 5])
        XCTAssertEqual(assigned["m1"]?.partitions, [.init(topic: "a", partitions: [0, 1, 2])])
        XCTAssertEqual(assigned["m2"]?.partitions, [.init(topic: "a", partitions: [3, 4])])
    }
}
