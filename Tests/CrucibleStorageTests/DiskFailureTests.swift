@testable import CrucibleStorage
import NIOConcurrencyHelpers
import XCTest

/// A write the disk refuses is reported to the installed handler (the broker's halts) before it is thrown, and
/// only thrown when no handler is installed. /dev/full refuses every write with ENOSPC, as a full disk does.
final class DiskFailureTests: XCTestCase {
    override func tearDown() { DiskFailure.onFailure(nil) }

    func testAFailedWriteIsReportedThenThrown() throws {
        let reported = NIOLockedValueBox<[String]>([])
        DiskFailure.onFailure { reason in reported.withLockedValue { $0.append(reason) } }
        let full = try DiskFile(path: "/dev/full", create: false)
        XCTAssertThrowsError(try [UInt8](repeating: 1, count: 100).withUnsafeBytes { try full.append($0) }) { error in
            XCTAssertTrue("\(error)".contains("No space left on device"), "\(error)")
        }
        XCTAssertEqual(reported.withLockedValue { $0 }, ["cannot write /dev/full: No space left on device"])
        XCTAssertEqual(full.size, 0, "a refused write does not move the end of the file")
    }

    func testWithoutAHandlerAFailureOnlyThrows() throws {
        let full = try DiskFile(path: "/dev/full", create: false)
        XCTAssertThrowsError(try [UInt8](repeating: 1, count: 10).withUnsafeBytes { try full.append($0) })
    }

    func testReadsAndSuccessfulWritesReportNothing() throws {
        let reported = NIOLockedValueBox(0)
        DiskFailure.onFailure { _ in reported.withLockedValue { $0 += 1 } }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("disk-failure-\(UUID().uuidString)").path
        defer { try? FileSystem.remove(path) }
        let file = try DiskFile(path: path, create: true)
        try [UInt8](repeating: 7, count: 64).withUnsafeBytes { try file.append($0) }
        try file.sync()
        XCTAssertEqual(try file.read(at: 0, count: 64).readableBytes, 64)
        XCTAssertThrowsError(try DiskFile(path: path + "-missing", create: false), "opening a missing file is not a disk failure")
        XCTAssertEqual(reported.withLockedValue { $0 }, 0)
    }
}
