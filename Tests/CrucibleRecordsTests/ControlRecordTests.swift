@testable import CrucibleRecords
import NIOCore
import XCTest

/// Transaction markers as Kafka writes them: a control and transactional batch of one record, the producer's id
/// and epoch, no sequence, key {0, type}, value {0, coordinatorEpoch}; other control types are not markers.
final class ControlRecordTests: XCTestCase {
    func testAnEndTransactionBatchRoundTrips() throws {
        let batch = try ControlRecord.endTransactionBatch(.commit, coordinatorEpoch: 7, producerId: 4_242,
                                                          producerEpoch: 3, timestamp: 1_700_000_000_000, baseOffset: 90)
        let spans = try RecordBatch.spans(in: batch, allowPartialTail: false)
        XCTAssertEqual(spans.count, 1)
        let header = spans[0].header
        XCTAssertTrue(header.isControl && header.isTransactional)
        XCTAssertEqual(header.producerId, 4_242)
        XCTAssertEqual(header.producerEpoch, 3)
        XCTAssertEqual(header.baseSequence, -1)
        XCTAssertEqual(header.baseOffset, 90)
        XCTAssertTrue(RecordBatch.crcMatches(spans[0], in: batch))
        let records = try RecordBatch.records(spans[0], in: batch)
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(records[0].key, [0, 0, 0, 1])
        XCTAssertEqual(records[0].value, [0, 0, 0, 0, 0, 7])
        let marker = try XCTUnwrap(ControlRecord.marker(in: records[0]))
        XCTAssertEqual(marker.marker, .commit)
        XCTAssertEqual(marker.coordinatorEpoch, 7)
    }

    func testAnAbortMarkerKeepsALargeOrNegativeCoordinatorEpoch() throws {
        for epoch: Int32 in [0, 65_537, Int32.max, -1] {
            let batch = try ControlRecord.endTransactionBatch(.abort, coordinatorEpoch: epoch, producerId: 1,
                                                              producerEpoch: 0, timestamp: 0)
            let span = try RecordBatch.spans(in: batch, allowPartialTail: false)[0]
            let marker = try XCTUnwrap(ControlRecord.marker(in: RecordBatch.records(span, in: batch)[0]))
            XCTAssertEqual(marker.marker, .abort)
            XCTAssertEqual(marker.coordinatorEpoch, epoch)
        }
    }

    /// The metadata log's control records (leader change, snapshot header) have types of their own: not markers.
    func testOtherControlTypesAndMalformedKeysAreNotMarkers() throws {
        let leaderChange = try ControlRecord.batch(type: 2, value: [0, 1, 2])
        let span = try RecordBatch.spans(in: leaderChange, allowPartialTail: false)[0]
        XCTAssertTrue(span.header.isControl)
        XCTAssertFalse(span.header.isTransactional)
        let record = try RecordBatch.records(span, in: leaderChange)[0]
        XCTAssertEqual(ControlRecord.type(ofKey: record.key), 2)
        XCTAssertNil(ControlRecord.marker(in: record))
        XCTAssertNil(ControlRecord.type(ofKey: [0, 0, 1]))
        XCTAssertNil(ControlRecord.type(ofKey: nil))
        XCTAssertNil(ControlRecord.marker(in: Record(key: [0, 0, 0, 1], value: [0, 0, 7])), "a value too short")
        XCTAssertEqual(ControlRecord.type(ofKey: ControlRecord.key(type: -2)), -2)
    }
}
