import CrucibleProtocol
import CrucibleSecurity
import Foundation
import XCTest
@testable import CrucibleController

final class ScramCommandsTests: XCTestCase {
    private func upsert(_ user: String, _ mechanism: ScramMechanism = .sha512, iterations: Int32 = 4096,
                        password: String = "pw") -> ScramCredentialChange {
        let salt = ScramCredential.randomSalt()
        return .upsert(user: user, mechanism: mechanism.rawValue, iterations: iterations, salt: salt,
                       saltedPassword: ScramCredential.saltedPassword(password, salt: salt, iterations: iterations, mechanism: mechanism))
    }

    func testKafkasRulesOneResultPerUserAndOnlyValidUsersChange() {
        var image = MetadataImage()
        let changes = [
            upsert("alice"), upsert("alice", .sha256),                 // two mechanisms of one user: fine
            upsert("bob"), upsert("bob"),                              // one mechanism twice: DUPLICATE_RESOURCE
            upsert("carol", iterations: 100),                          // too few iterations
            upsert("dave", iterations: 20_000),                        // too many
            .delete(user: "erin", mechanism: ScramMechanism.sha512.rawValue),  // nothing to delete
            .upsert(user: "frank", mechanism: 9, iterations: 4096, salt: [1], saltedPassword: [2]),  // unknown mechanism
            upsert(""),
        ]
        let (records, results) = ControllerCommands.alterScramCredentials(changes, image: image)
        XCTAssertEqual(results.map(\.user), ["alice", "bob", "carol", "dave", "erin", "frank", ""])
        XCTAssertEqual(results.map(\.error), [.none, .duplicateResource, .unacceptableCredential, .unacceptableCredential,
                                              .resourceNotFound, .unsupportedSaslMechanism, .unacceptableCredential])
        image.commit(records)
        XCTAssertEqual(Set(image.scramCredentials.keys), ["alice"])
        XCTAssertEqual(Set(image.scramCredentials["alice"]!.keys), [.sha256, .sha512])
        XCTAssertTrue(image.scramCredentials["alice"]![.sha512]!.matches(password: "pw", mechanism: .sha512))

        let (removal, removed) = ControllerCommands.alterScramCredentials(
            [.delete(user: "alice", mechanism: ScramMechanism.sha256.rawValue)], image: image)
        XCTAssertEqual(removed.map(\.error), [.none])
        image.commit(removal)
        XCTAssertEqual(Set(image.scramCredentials["alice"]!.keys), [.sha512])
    }

    func testCredentialsAndTheBootstrapMarkSurviveASnapshot() throws {
        var image = MetadataImage()
        image.commit(MetadataBootstrap.records([]))
        image.commit(ControllerCommands.alterScramCredentials([upsert("alice"), upsert("bob", .sha256)], image: image).0)
        var rebuilt = MetadataImage()
        rebuilt.commit(image.snapshotRecords())
        XCTAssertEqual(rebuilt.scramCredentials, image.scramCredentials)
        XCTAssertEqual(rebuilt.features, [MetadataBootstrap.metadataVersionFeature: MetadataBootstrap.metadataVersionLevel])
    }

    func testAddScramIsParsedAsKafkaStorageDoesAndTheFileHoldsNoPassword() throws {
        let entry = try MetadataBootstrap.parseAddScram("SCRAM-SHA-512=[name=alice,password=s3cret-pass,iterations=8192]")
        XCTAssertEqual(entry.user, "alice")
        XCTAssertEqual(entry.credential.iterations, 8192)
        XCTAssertTrue(entry.credential.matches(password: "s3cret-pass", mechanism: .sha512))
        for bad in ["SCRAM-SHA-1=[name=a,password=b]", "SCRAM-SHA-512=[password=b]", "SCRAM-SHA-512=[name=a]",
                    "SCRAM-SHA-512=name=a,password=b", "SCRAM-SHA-256=[name=a,password=b,iterations=12]"] {
            XCTAssertThrowsError(try MetadataBootstrap.parseAddScram(bad), bad)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try MetadataBootstrap.write([entry], to: directory)
        let text = try String(contentsOfFile: directory + "/" + MetadataBootstrap.fileName, encoding: .utf8)
        XCTAssertFalse(text.contains("s3cret-pass"))
        var image = MetadataImage()
        image.commit(try MetadataBootstrap.read(from: directory))
        XCTAssertEqual(image.scramCredentials["alice"]?[.sha512], entry.credential)
        XCTAssertTrue(try MetadataBootstrap.read(from: directory + "/none").isEmpty)
    }
}
