import Foundation
import NIOCore
import XCTest
@testable import CrucibleStorage

/// DeleteRecords' side of the log: the start moves forward, reads below it are refused, whole segments below it
/// go, and the start survives a restart; a deleted log refuses changes instead of crashing its caller.
extension PartitionLogTests {
    func testAdvancingTheStartRefusesReadsBelowAndDropsWholeSegments() throws {
        let log = try open(config(segmentBytes: 200))
        for i in 0..<10 { try append(log, ["value-\(i)-" + String(repeating: "x", count: 60)]) }
        let segmentsBefore = log.segmentBaseOffsets.count
        XCTAssertGreaterThan(segmentsBefore, 3)
        XCTAssertTrue(try log.advanceStartOffset(to: 6))
        XCTAssertEqual(log.logStartOffset, 6)
        XCTAssertFalse(try log.advanceStartOffset(to: 4), "the start never moves back")
        XCTAssertLessThan(log.segmentBaseOffsets.count, segmentsBefore)
        XCTAssertTrue(log.segmentBaseOffsets.first! <= 6)
        XCTAssertThrowsError(try log.read(from: 5, maxBytes: 1 << 20, endOffset: log.logEndOffset))
        XCTAssertEqual(try values(log, from: 6).first, "value-6-" + String(repeating: "x", count: 60))
        XCTAssertEqual(try log.offset(forTimestamp: 0)?.offset, 6, "a timestamp lookup never answers below the start")
        XCTAssertTrue(try log.advanceStartOffset(to: 99))
        XCTAssertEqual(log.logStartOffset, 10, "never past the log end")
    }

    func testTheStartSurvivesARestartThroughItsCheckpoint() throws {
        let root = (directory as NSString).deletingLastPathComponent
        var manager = try LogManager(directory: root)
        var log = try manager.openLog(topic: "t", partition: 0, config: config(), nowMs: 0)
        for i in 0..<5 { try append(log, ["v\(i)"]) }
        try log.advanceStartOffset(to: 3)
        try manager.shutdown(nowMs: 0)
        manager = try LogManager(directory: root)
        log = try manager.openLog(topic: "t", partition: 0, config: config(), nowMs: 0)
        XCTAssertEqual(log.logStartOffset, 3)
        XCTAssertEqual(log.logEndOffset, 5)
    }

    func testADeletedLogRefusesChangesAndKeepsItsEnd() throws {
        let log = try open(config())
        try append(log, ["a", "b"])
        try log.deleteFiles()
        XCTAssertEqual(log.logEndOffset, 2)
        XCTAssertThrowsError(try append(log, ["c"]))
        XCTAssertThrowsError(try log.advanceStartOffset(to: 1))
        XCTAssertThrowsError(try log.flush(nowMs: 0))
        XCTAssertEqual(try log.read(from: 0, maxBytes: 100, endOffset: 2).count, 0)
    }
}
