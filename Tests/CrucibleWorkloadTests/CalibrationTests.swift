import Foundation
import XCTest
@testable import CrucibleBench

final class CalibrationTests: XCTestCase {
    func testMeasuresEveryFigureAndLeavesNoFilesBehind() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("crucible-calibration-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        var lines: [String] = []
        let calibration = Calibration.measure(directory: directory, seconds: 4) { lines.append($0) }
        print("calibration: \(lines.joined(separator: "; "))")

        XCTAssertEqual(calibration.notes, [])
        for (name, figure) in [("loopback", calibration.loopbackBytesPerSecond),
                               ("fdatasync", calibration.diskFdatasyncBytesPerSecond),
                               ("fresh pages", calibration.pageCacheFreshBytesPerSecond),
                               ("reused pages", calibration.pageCacheReusedBytesPerSecond)] {
            let value = try XCTUnwrap(figure, name)
            XCTAssertGreaterThan(value, 0, name)
            XCTAssertTrue(value.isFinite, name)
        }
        XCTAssertEqual(calibration.details.map(\.name),
                       ["loopback TCP", "disk fdatasync", "page cache, reused pages", "page cache, fresh pages"])
        XCTAssert(calibration.details.allSatisfy { $0.bytes >= 8 << 20 || $0.name == "loopback TCP" })
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])

        let decoded = try JSONDecoder().decode(Calibration.self, from: JSONEncoder().encode(calibration))
        XCTAssertEqual(decoded, calibration)
    }

    func testAMissingDirectoryIsANoteNotACrash() {
        let calibration = Calibration.measure(directory: "/nonexistent/crucible-calibration", seconds: 1)
        XCTAssertNil(calibration.diskFdatasyncBytesPerSecond)
        XCTAssertNil(calibration.pageCacheFreshBytesPerSecond)
        XCTAssertEqual(calibration.notes.filter { $0.contains("not measured: open") }.count, 3)
    }
}
