import XCTest
@testable import CrucibleSecurity

final class AuthorizerTests: XCTestCase {
    private func allow(_ principal: String, _ operation: AclOperation, _ type: AclResourceType = .topic, _ name: String = "t",
                       _ pattern: AclPatternType = .literal, host: String = "*") -> AclBinding {
        AclBinding(resourceType: type, resourceName: name, patternType: pattern, principal: principal, host: host,
                   operation: operation, permission: .allow)
    }

    func testStandardAuthorizerRules() {
        var deny = allow("User:alice", .write)
        deny.permission = .deny
        let authorizer = Authorizer(acls: [
            allow("User:alice", .read), allow("User:alice", .write), deny,
            allow("User:bob", .alterConfigs), allow("User:*", .read, .topic, "public"),
            allow("User:carol", .all, .topic, "team-", .prefixed), allow("User:dave", .read, .topic, "*"),
            allow("User:erin", .read, host: "10.0.0.1"),
        ], superUsers: ["User:admin"], allowEveryoneIfNoAclFound: false)
        XCTAssertTrue(authorizer.authorize("User:alice", host: "h", .read, .topic, "t"))
        XCTAssertTrue(authorizer.authorize("User:alice", host: "h", .describe, .topic, "t"), "READ implies DESCRIBE")
        XCTAssertFalse(authorizer.authorize("User:alice", host: "h", .write, .topic, "t"), "DENY wins over ALLOW")
        XCTAssertTrue(authorizer.authorize("User:bob", host: "h", .describeConfigs, .topic, "t"), "ALTER_CONFIGS implies DESCRIBE_CONFIGS")
        XCTAssertFalse(authorizer.authorize("User:bob", host: "h", .describe, .topic, "t"))
        XCTAssertTrue(authorizer.authorize("User:anyone", host: "h", .read, .topic, "public"), "User:* matches every principal")
        XCTAssertTrue(authorizer.authorize("User:carol", host: "h", .delete, .topic, "team-orders"), "prefixed and ALL")
        XCTAssertFalse(authorizer.authorize("User:carol", host: "h", .delete, .topic, "teams"))
        XCTAssertTrue(authorizer.authorize("User:dave", host: "h", .read, .topic, "anything"), "the * topic name")
        XCTAssertFalse(authorizer.authorize("User:dave", host: "h", .read, .group, "anything"), "another resource type")
        XCTAssertTrue(authorizer.authorize("User:erin", host: "10.0.0.1", .read, .topic, "t"))
        XCTAssertFalse(authorizer.authorize("User:erin", host: "10.0.0.2", .read, .topic, "t"), "the ACL's host only")
        XCTAssertTrue(authorizer.authorize("User:admin", host: "h", .alter, .cluster, Authorizer.clusterName), "super users")
        XCTAssertFalse(authorizer.authorize("User:alice", host: "h", .read, .topic, "nobody-covers-this"))
        let open = Authorizer(acls: [allow("User:alice", .read)], superUsers: [], allowEveryoneIfNoAclFound: true)
        XCTAssertTrue(open.authorize("User:bob", host: "h", .write, .topic, "uncovered"), "no ACL on the resource: allowed")
        XCTAssertFalse(open.authorize("User:bob", host: "h", .read, .topic, "t"), "an ACL on the resource: only it decides")
    }

    /// authorizeByResourceType: WRITE on some topic, for an idempotent producer.
    func testAnOperationOnAnyResourceOfAType() {
        var denyAll = allow("User:frank", .write, .topic, "*")
        denyAll.permission = .deny
        var denyPrefix = allow("User:gus", .write, .topic, "secret-", .prefixed)
        denyPrefix.permission = .deny
        let authorizer = Authorizer(acls: [
            allow("User:alice", .write, .topic, "orders"), allow("User:bob", .read, .topic, "orders"),
            allow("User:carol", .all, .topic, "team-", .prefixed), allow("User:frank", .write), denyAll,
            allow("User:gus", .write, .topic, "secret-orders"), denyPrefix, allow("User:hal", .write, host: "10.0.0.9"),
        ], superUsers: ["User:admin"], allowEveryoneIfNoAclFound: false)
        XCTAssertTrue(authorizer.authorizeAny("User:alice", host: "h", .write, .topic))
        XCTAssertFalse(authorizer.authorizeAny("User:bob", host: "h", .write, .topic), "READ is not WRITE")
        XCTAssertTrue(authorizer.authorizeAny("User:carol", host: "h", .write, .topic), "ALL on a prefix")
        XCTAssertFalse(authorizer.authorizeAny("User:frank", host: "h", .write, .topic), "a DENY on * covers every topic")
        XCTAssertFalse(authorizer.authorizeAny("User:gus", host: "h", .write, .topic), "a prefixed DENY covers the ALLOW under it")
        XCTAssertFalse(authorizer.authorizeAny("User:hal", host: "h", .write, .topic), "another host")
        XCTAssertFalse(authorizer.authorizeAny("User:alice", host: "h", .write, .group), "another resource type")
        XCTAssertTrue(authorizer.authorizeAny("User:admin", host: "h", .write, .topic))
        let open = Authorizer(acls: [allow("User:bob", .read, .group, "g")], superUsers: [], allowEveryoneIfNoAclFound: true)
        XCTAssertTrue(open.authorizeAny("User:x", host: "h", .write, .topic), "no topic ACLs at all, and everyone allowed")
    }

    func testFiltersAndProblemsAsKafkaDefinesThem() {
        let acl = allow("User:alice", .read, .topic, "team-", .prefixed)
        XCTAssertTrue(AclFilter(wire: 1, nil, 1, nil, nil, 1, 1).matches(acl), "ANY everything")
        XCTAssertTrue(AclFilter(wire: 2, "team-orders", 2, nil, nil, 1, 1).matches(acl), "MATCH: the patterns covering a name")
        XCTAssertFalse(AclFilter(wire: 2, "team-orders", 3, nil, nil, 1, 1).matches(acl), "LITERAL is exact")
        XCTAssertFalse(AclFilter(wire: 2, nil, 4, "User:bob", nil, 1, 1).matches(acl))
        XCTAssertNil(acl.problem)
        XCTAssertNotNil(AclBinding(wire: 1, "t", 3, "User:a", "*", 3, 3).problem, "ANY resource type")
        XCTAssertNotNil(AclBinding(wire: 4, "c", 3, "User:a", "*", 3, 3).problem, "a cluster not named kafka-cluster")
        XCTAssertNotNil(AclBinding(wire: 2, "t", 3, "alice", "*", 3, 3).problem, "a principal without its type")
        XCTAssertNotNil(AclBinding(wire: 2, "t", 2, "User:a", "*", 3, 3).problem, "MATCH is a filter, not a pattern")
        XCTAssertEqual(AclOperation(name: "describe_configs"), .describeConfigs)
        XCTAssertEqual(AclOperation.idempotentWrite.name, "IDEMPOTENT_WRITE")
    }
}
