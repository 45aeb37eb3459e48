import CrucibleClient
import XCTest

@testable import crucible

final class OffsetResetTests: XCTestCase {
    let p0 = TopicPartition("t", 0), p1 = TopicPartition("t", 1)
    var offsets: PartitionOffsets {
        PartitionOffsets(logStart: [p0: 10, p1: 0], logEnd: [p0: 100, p1: 5], committed: [p0: 50],
                         byTimestamp: [p0: 42, p1: -1])
    }

    func plan(_ spec: OffsetResetSpec, _ partitions: [TopicPartition]? = nil) throws -> [TopicPartition: Int64] {
        try OffsetResetPlan.compute(spec, partitions: partitions ?? [p0, p1], offsets: offsets)
    }

    func testEarliestAndLatestAreTheLogBounds() throws {
        XCTAssertEqual(try plan(.earliest), [p0: 10, p1: 0])
        XCTAssertEqual(try plan(.latest), [p0: 100, p1: 5])
    }

    func testExplicitOffsetsAreClampedToTheLog() throws {
        XCTAssertEqual(try plan(.offset(3)), [p0: 10, p1: 3])
        XCTAssertEqual(try plan(.offset(1000)), [p0: 100, p1: 5])
    }

    func testShiftMovesTheCommittedOffsetWithinTheLog() throws {
        XCTAssertEqual(try plan(.shiftBy(-45), [p0]), [p0: 10])
        XCTAssertEqual(try plan(.shiftBy(7), [p0]), [p0: 57])
        XCTAssertEqual(try plan(.shiftBy(.max), [p0]), [p0: 100])
        XCTAssertThrowsError(try plan(.shiftBy(1), [p1])) { error in
            XCTAssertEqual("\(error)", "Cannot shift offset for partition t-1 since there is no current committed offset")
        }
    }

    func testATimeAfterEveryRecordFallsBackToTheLogEndWithKafkasWarning() throws {
        var warnings: [String] = []
        let result = try OffsetResetPlan.compute(.timestamp(1), partitions: [p0, p1], offsets: offsets) { warnings.append($0) }
        XCTAssertEqual(result, [p0: 42, p1: 5])
        XCTAssertEqual(warnings, ["\nWarn: Partition 1 from topic t is empty. Falling back to latest known offset."])
        var below = offsets
        below.byTimestamp[p0] = 3  // a deleted record's offset
        XCTAssertEqual(try OffsetResetPlan.compute(.timestamp(1), partitions: [p0], offsets: below), [p0: 10])
    }

    func testAPartitionWithoutOffsetsIsAnError() {
        XCTAssertThrowsError(try plan(.earliest, [TopicPartition("t", 9)]))
    }

    func testDurationsAsJavaParsesThem() {
        XCTAssertEqual(ResetTimeFormat.durationMs("PT1H"), 3_600_000)
        XCTAssertEqual(ResetTimeFormat.durationMs("P1DT2H3M4.5S"), 86_400_000 + 7_200_000 + 180_000 + 4_500)
        XCTAssertEqual(ResetTimeFormat.durationMs("pt30s"), 30_000)
        XCTAssertEqual(ResetTimeFormat.durationMs("-PT5M"), -300_000)
        XCTAssertEqual(ResetTimeFormat.durationMs("PT-1.25S"), -1_250)
        XCTAssertEqual(ResetTimeFormat.durationMs("P2D"), 172_800_000)
        for bad in ["", "P", "PT", "P1DT", "1H", "P1H", "PT1H2D", "PT1.5M", "P99999999999999999D"] {
            XCTAssertNil(ResetTimeFormat.durationMs(bad), bad)
        }
    }

    func testDateTimesAreUTCUnlessZoned() {
        XCTAssertEqual(ResetTimeFormat.dateTimeMs("2024-01-02T03:04:05.678"), 1_704_164_645_678)
        XCTAssertEqual(ResetTimeFormat.dateTimeMs("2024-01-02T03:04:05.678Z"), 1_704_164_645_678)
        XCTAssertEqual(ResetTimeFormat.dateTimeMs("2024-01-02T04:04:05.678+01:00"), 1_704_164_645_678)
        XCTAssertEqual(ResetTimeFormat.dateTimeMs("2024-01-02T01:04:05.678-0200"), 1_704_164_645_678)
        XCTAssertEqual(ResetTimeFormat.dateTimeMs("1970-01-01T00:00:00.000"), 0)
        for bad in ["2024-02-30T00:00:00.000", "2024-01-02T03:04:05", "2024-01-02 03:04:05.678", "2024-13-01T00:00:00.000",
                    "2024-01-02T25:00:00.000", "yesterday"] {
            XCTAssertNil(ResetTimeFormat.dateTimeMs(bad), bad)
        }
    }
}
