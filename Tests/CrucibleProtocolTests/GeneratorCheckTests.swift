import Foundation
import XCTest

/// Fails when Generated/ is stale: runs the generator (built next to this test bundle) in --check mode.
final class GeneratorCheckTests: XCTestCase {
    func testGeneratedCodeMatchesSchemas() throws {
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let schemas = packageRoot.appendingPathComponent("../shared/kafka-protocol").standardizedFileURL
        guard FileManager.default.fileExists(atPath: schemas.path) else {
            throw XCTSkip("schemas not found next to the package")
        }
        let buildDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let generator = buildDirectory.appendingPathComponent("crucible-protocol-gen")
        guard FileManager.default.isExecutableFile(atPath: generator.path) else {
            throw XCTSkip("crucible-protocol-gen not built next to the tests; run `swift build` first")
        }
        let process = Process()
        process.executableURL = generator
        process.currentDirectoryURL = packageRoot
        process.arguments = [
            "--check", "--schemas", schemas.path,
            "--output", packageRoot.appendingPathComponent("Sources/CrucibleProtocol/Generated").path,
            "--test-output", packageRoot.appendingPathComponent("Tests/CrucibleProtocolTests/Generated").path,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, text)
    }
}
