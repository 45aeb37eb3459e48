import CrucibleGroups
import CrucibleProtocol
import CrucibleTransactions
import NIOCore
import XCTest

/// `__transaction_state` records in Kafka's bytes, so Kafka's decoder reads ours and ours reads Kafka's.
final class TransactionLogRecordTests: XCTestCase {
    func testAnOngoingTransactionInKafkasV0Bytes() throws {
        let value = TransactionLogValue(producerId: 1000, producerEpoch: 3, timeoutMs: 60_000, state: .ongoing,
                                        partitions: [TopicPartitionKey("b", 1), TopicPartitionKey("a", 0), TopicPartitionKey("b", 0)],
                                        lastUpdateMs: 1_700_000_000_500, startMs: 1_700_000_000_000)
        let record = TransactionLogRecord(transactionalId: "tx", value: value)
        XCTAssertEqual(Array(record.encodeKey().readableBytesView), [0, 0, 0, 2, 0x74, 0x78])
        var expected = ByteBuffer()
        expected.writeInteger(Int16(0))
        expected.writeInteger(Int64(1000))
        expected.writeInteger(Int16(3))
        expected.writeInteger(Int32(60_000))
        expected.writeInteger(Int8(1))
        expected.writeInteger(Int32(2))                      // two topics, sorted, partitions sorted
        expected.writeInteger(Int16(1)); expected.writeString("a"); expected.writeInteger(Int32(1)); expected.writeInteger(Int32(0))
        expected.writeInteger(Int16(1)); expected.writeString("b"); expected.writeInteger(Int32(2))
        expected.writeInteger(Int32(0)); expected.writeInteger(Int32(1))
        expected.writeInteger(Int64(1_700_000_000_500))
        expected.writeInteger(Int64(1_700_000_000_000))
        XCTAssertEqual(record.encodeValue(), expected)
        let decoded = try XCTUnwrap(TransactionLogRecord.decode(key: record.encodeKey(), value: record.encodeValue()))
        XCTAssertEqual(decoded.transactionalId, "tx")
        XCTAssertEqual(decoded.value?.partitions.sorted(), value.partitions.sorted())
        XCTAssertEqual(decoded.value?.state, .ongoing)
    }

    func testAnEmptyStateWritesNullPartitionsAndATombstoneHasNoValue() throws {
        let empty = TransactionLogValue(producerId: 1, producerEpoch: 0, timeoutMs: 100, state: .empty, partitions: [],
                                        lastUpdateMs: 5, startMs: -1)
        var bytes = try XCTUnwrap(TransactionLogRecord(transactionalId: "t", value: empty).encodeValue())
        bytes.moveReaderIndex(forwardBy: 2 + 8 + 2 + 4 + 1)
        XCTAssertEqual(bytes.readInteger(as: Int32.self), -1)
        let tombstone = TransactionLogRecord(transactionalId: "t", value: nil)
        XCTAssertNil(tombstone.encodeValue())
        XCTAssertEqual(try TransactionLogRecord.decode(key: tombstone.encodeKey(), value: nil), tombstone)
    }

    func testAFlexibleV1ValueWithTaggedFieldsIsRead() throws {
        var v1 = ByteBuffer()
        v1.writeInteger(Int16(1))
        v1.writeInteger(Int64(77))
        v1.writeInteger(Int16(2))
        v1.writeInteger(Int32(1_000))
        v1.writeInteger(Int8(4))                        // CompleteCommit
        v1.writeInteger(UInt8(2))                       // compact array of one topic
        v1.writeInteger(UInt8(2)); v1.writeString("t")  // compact string
        v1.writeInteger(UInt8(2)); v1.writeInteger(Int32(3))
        v1.writeInteger(UInt8(0))                       // the topic's tagged fields
        v1.writeInteger(Int64(10))
        v1.writeInteger(Int64(9))
        v1.writeInteger(UInt8(1)); v1.writeInteger(UInt8(0)); v1.writeInteger(UInt8(8)); v1.writeInteger(Int64(-1))  // PreviousProducerId
        let record = TransactionLogRecord(transactionalId: "x", value: nil)
        let decoded = try XCTUnwrap(TransactionLogRecord.decode(key: record.encodeKey(), value: v1)?.value)
        XCTAssertEqual(decoded.producerId, 77)
        XCTAssertEqual(decoded.state, .completeCommit)
        XCTAssertEqual(decoded.partitions, [TopicPartitionKey("t", 3)])
        XCTAssertEqual(decoded.startMs, 9)
    }

    func testBadBytesAreRefusedNotTrusted() {
        var bad = ByteBuffer()
        bad.writeInteger(Int16(0)); bad.writeInteger(Int64(1)); bad.writeInteger(Int16(0)); bad.writeInteger(Int32(1))
        bad.writeInteger(Int8(9))
        let key = TransactionLogRecord(transactionalId: "x", value: nil).encodeKey()
        XCTAssertThrowsError(try TransactionLogRecord.decode(key: key, value: bad))
        var version = ByteBuffer()
        version.writeInteger(Int16(7))
        XCTAssertThrowsError(try TransactionLogRecord.decode(key: key, value: version))
    }
}
