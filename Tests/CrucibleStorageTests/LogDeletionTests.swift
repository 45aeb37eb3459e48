import Foundation
import XCTest
@testable import CrucibleStorage

/// Topic deletion renames a partition's directory out of the partition namespace at once and removes it in the
/// background; a crash between the two leaves a `*-delete` directory that the next start removes.
extension PartitionLogTests {
    func testADeletedLogLeavesThePartitionNamespaceAtOnceAndItsFilesGoLater() throws {
        let root = (directory as NSString).deletingLastPathComponent
        let manager = try LogManager(directory: root)
        let log = try manager.openLog(topic: "gone", partition: 0, config: config(), nowMs: 0)
        try append(log, ["v"])
        try manager.deleteLog(topic: "gone", partition: 0)
        XCTAssertFalse(try manager.partitionsOnDisk().contains { $0.topic == "gone" })
        XCTAssertTrue(try waitUntilNoDeletions(in: root), "the renamed directory is removed in the background")
    }

    func testALeftoverDeletionFromACrashIsRemovedAtStart() throws {
        let root = (directory as NSString).deletingLastPathComponent
        try FileSystem.makeDirectory(root)
        let leftover = root + "/t-0.abc" + LogManager.deletionSuffix
        try FileSystem.makeDirectory(leftover)
        FileManager.default.createFile(atPath: leftover + "/00000000000000000000.log", contents: Data([1, 2, 3]))
        let manager = try LogManager(directory: root)
        XCTAssertFalse(try manager.partitionsOnDisk().contains { $0.topic.hasPrefix("t-0") || $0.topic == "t" })
        XCTAssertTrue(try waitUntilNoDeletions(in: root))
    }

    private func waitUntilNoDeletions(in root: String) throws -> Bool {
        for _ in 0..<200 {
            if try !FileSystem.list(root).contains(where: { $0.hasSuffix(LogManager.deletionSuffix) }) { return true }
            usleep(10_000)
        }
        return false
    }
}
