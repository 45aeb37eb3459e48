import CrucibleSecurity
import XCTest

/// `ssl.principal.mapping.rules` as Kafka's documentation writes them: first matching rule wins, `DEFAULT` keeps
/// the subject, `L`/`U` change case, a subject no rule matches has no principal, a malformed rule is refused.
final class SslPrincipalMapperTests: XCTestCase {
    func testRulesApplyInOrderAndTheFirstMatchWins() throws {
        let mapper = try SslPrincipalMapper(parsing: """
            RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, RULE:^CN=(.*?),OU=(.*?),O=(.*?)$/$1@$2/,
            RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U, DEFAULT
            """)
        XCTAssertEqual(mapper.name(forSubject: "CN=Kafka-Client,OU=ServiceUsers,O=Acme"), "kafka-client")
        XCTAssertEqual(mapper.name(forSubject: "CN=bob,OU=ops,O=Acme"), "bob@ops")
        XCTAssertEqual(mapper.name(forSubject: "O=Acme,cn=node1.example,L=Paris"), "NODE1.EXAMPLE")
        XCTAssertEqual(mapper.name(forSubject: "O=Acme"), "O=Acme")
    }

    func testAPatternMustMatchTheWholeSubjectAndSlashesMayBeEscaped() throws {
        let mapper = try SslPrincipalMapper(parsing: #"RULE:CN=(.*)\/ops/$1/"#)
        XCTAssertEqual(mapper.name(forSubject: "CN=alice/ops"), "alice")
        XCTAssertNil(mapper.name(forSubject: "CN=alice/ops,O=Acme"), "no DEFAULT: a subject no rule matches has no principal")
        XCTAssertEqual(SslPrincipalMapper.default.name(forSubject: "CN=admin,O=Crucible"), "CN=admin,O=Crucible")
    }

    func testMalformedRulesAreRefusedNamingTheKey() {
        for bad in ["", "RULE:^CN=(.*)$/$1", "DEFAULTS", "RULE:([/$1/", "SOMETHING"] {
            XCTAssertThrowsError(try SslPrincipalMapper(parsing: bad), bad) { error in
                XCTAssertTrue("\(error)".contains("ssl.principal.mapping.rules"), "\(error)")
            }
        }
    }
}
