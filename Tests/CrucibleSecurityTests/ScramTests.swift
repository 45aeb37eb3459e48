import Foundation
import XCTest
@testable import CrucibleSecurity

final class ScramTests: XCTestCase {
    /// RFC 7677's SCRAM-SHA-256 example, byte for byte: the server's answers and the proof check.
    func testTheServerFollowsRFC7677sExample() throws {
        let salt = Array(Data(base64Encoded: "W22ZaJ0SNY7soEsUEjb6gQ==")!)
        let credential = ScramCredential(password: "pencil", mechanism: .sha256, iterations: 4096, salt: salt)
        var server = ScramServer(mechanism: .sha256) { user, mechanism in
            user == "user" && mechanism == .sha256 ? credential : nil
        }
        let serverFirst = String(decoding: try server.respond(to: Array("n,,n=user,r=rOprNGfwEbeRWgbNEkqO".utf8)), as: UTF8.self)
        XCTAssertTrue(serverFirst.hasPrefix("r=rOprNGfwEbeRWgbNEkqO"))
        XCTAssertTrue(serverFirst.hasSuffix(",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"))
        // The RFC's client-final proves the password for the RFC's server nonce; recompute it for ours.
        var client = ScramClient(mechanism: .sha256, user: "user", password: "pencil")
        _ = client.firstMessage()
        XCTAssertNotNil(client)
        let rfcCredentialKeys = ScramKeys(saltedPassword: ScramMechanism.sha256.saltedPassword("pencil", salt: salt, iterations: 4096),
                                          mechanism: .sha256)
        let rfcAuthMessage = "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
        let signature = ScramMechanism.sha256.hmac(key: ScramMechanism.sha256.hash(rfcCredentialKeys.clientKey), Array(rfcAuthMessage.utf8))
        let proof = zip(rfcCredentialKeys.clientKey, signature).map { $0 ^ $1 }
        XCTAssertEqual(Data(proof).base64EncodedString(), "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
        let serverSignature = ScramMechanism.sha256.hmac(key: credential.serverKey, Array(rfcAuthMessage.utf8))
        XCTAssertEqual(Data(serverSignature).base64EncodedString(), "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    }

    func testOurClientAndServerAgreeAndAWrongPasswordFails() throws {
        for mechanism in ScramMechanism.allCases {
            let credential = ScramCredential(password: "s3cret", mechanism: mechanism, iterations: 4096)
            for (password, succeeds) in [("s3cret", true), ("guess", false)] {
                var server = ScramServer(mechanism: mechanism) { user, _ in user == "a,b=c" ? credential : nil }
                var client = ScramClient(mechanism: mechanism, user: "a,b=c", password: password)
                let serverFirst = try server.respond(to: client.firstMessage())
                let clientFinal = try client.finalMessage(serverFirst: serverFirst)
                if succeeds {
                    let serverFinal = try server.respond(to: clientFinal)
                    XCTAssertNoThrow(try client.verify(serverFinal: serverFinal))
                    XCTAssertEqual(server.authenticatedUser, "a,b=c")
                } else {
                    XCTAssertThrowsError(try server.respond(to: clientFinal)) { error in
                        XCTAssertTrue("\(error)".contains("invalid credentials"), "\(error)")
                    }
                    XCTAssertNil(server.authenticatedUser)
                }
            }
        }
    }

    func testAnUnknownUserFailsAtTheFirstMessage() {
        var server = ScramServer(mechanism: .sha512) { _, _ in nil }
        XCTAssertThrowsError(try server.respond(to: Array("n,,n=nobody,r=abc".utf8)))
    }

    func testACredentialFromASaltedPasswordEqualsOneFromThePassword() {
        let salt = ScramCredential.randomSalt()
        let direct = ScramCredential(password: "pw", mechanism: .sha512, iterations: 8192, salt: salt)
        let salted = ScramCredential.saltedPassword("pw", salt: salt, iterations: 8192, mechanism: .sha512)
        XCTAssertEqual(ScramCredential(saltedPassword: salted, salt: salt, iterations: 8192, mechanism: .sha512), direct)
        XCTAssertTrue(direct.matches(password: "pw", mechanism: .sha512))
        XCTAssertFalse(direct.matches(password: "pW", mechanism: .sha512))
    }
}
