import CrucibleRecords
import Foundation
import XCTest
@testable import CrucibleStorage

/// A crash at each step of the segment swap: reopening must finish or undo it, leaving no `.cleaned`/`.swap`
/// file, only original records, and every record the newest-per-key rule keeps.
final class LogCleanerCrashTests: CleanerTestCase {
    func testACrashAtEveryStepOfTheSwapRecoversToACorrectLog() throws {
        let kinds = SegmentSwap.kinds.count
        for step in 0...(2 * kinds) {
            try? FileManager.default.removeItem(atPath: root)
            let log = try open(compactConfig())
            try fill(log, updates: 200, keys: 7, codec: step % 2 == 0 ? .lz4 : .none)
            let original = try entries(log)
            let activeBase = log.segmentBaseOffsets.last!
            let cleaner = LogCleaner(dedupeBufferBytes: 1 << 20)
            cleaner.crashAfterSwapStep = step
            XCTAssertThrowsError(try cleaner.clean(log, checkpoint: nil, upperBound: log.logEndOffset, nowMs: 5000)) {
                XCTAssertEqual(($0 as? SegmentSwap.SimulatedCrash)?.step, step)
            }
            // The process dies here; a new one opens the directory without a clean shutdown.
            let reopened = try open(compactConfig(), recoveryPoint: 0)
            XCTAssertEqual(try leftovers(), [], "step \(step)")
            let recovered = try entries(reopened)
            XCTAssertTrue(Set(recovered.map(\.description)).isSubset(of: Set(original.map(\.description))), "step \(step)")
            let required = newestPerKey(original, below: activeBase)
            XCTAssertTrue(Set(required.map(\.description)).isSubset(of: Set(recovered.map(\.description))), "step \(step)")
            // The first renames move index files only: not committed, the first segment is as it was. Once the
            // log's .swap exists (the last kind's first rename) it is committed: the first segment is the cleaned one.
            let firstSegmentEnd = reopened.segmentBaseOffsets[1]
            let firstBefore = original.filter { $0.offset < firstSegmentEnd }
            let firstAfter = recovered.filter { $0.offset < firstSegmentEnd }
            if step < kinds {
                XCTAssertEqual(firstAfter, firstBefore, "step \(step)")
            } else {
                XCTAssertEqual(firstAfter, newestPerKey(original, below: activeBase).filter { $0.offset < firstSegmentEnd },
                               "step \(step)")
            }
            // A pass after recovery ends where an uninterrupted one would.
            XCTAssertNotNil(try LogCleaner().clean(reopened, checkpoint: nil, upperBound: reopened.logEndOffset, nowMs: 5000))
            XCTAssertEqual(try entries(reopened), required, "step \(step)")
            XCTAssertEqual(reopened.logEndOffset, 200)
        }
    }

    func testLeftoverSwapIndexesWithoutALogSwapAreUndone() throws {
        let log = try open(compactConfig())
        try fill(log, updates: 60, keys: 3)
        let original = try entries(log)
        try log.close(nowMs: 0)
        // A stray .index.swap (a crash between the first renames) and a .deleted file from some older scheme.
        FileManager.default.createFile(atPath: directory + "/" + LogSegment.fileName(0, ".index.swap"), contents: Data([1, 2, 3]))
        FileManager.default.createFile(atPath: directory + "/" + LogSegment.fileName(0, ".log.deleted"), contents: Data([1]))
        let reopened = try open(compactConfig())
        XCTAssertEqual(try leftovers(), [])
        XCTAssertEqual(try entries(reopened), original)
    }
}
