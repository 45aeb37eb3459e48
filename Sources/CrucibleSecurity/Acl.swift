/// Kafka's ACL vocabulary, with the wire numbers of its AclOperation, ResourceType, PatternType and
/// AclPermissionType.
public enum AclResourceType: Int8, CaseIterable, Sendable {
    case unknown = 0, any = 1, topic = 2, group = 3, cluster = 4, transactionalId = 5, delegationToken = 6, user = 7

    public var name: String {
        switch self {
        case .transactionalId: return "TRANSACTIONAL_ID"
        case .delegationToken: return "DELEGATION_TOKEN"
        default: return "\(self)".uppercased()
        }
    }
}

public enum AclPatternType: Int8, CaseIterable, Sendable {
    case unknown = 0, any = 1, match = 2, literal = 3, prefixed = 4

    public var name: String { "\(self)".uppercased() }
}

public enum AclOperation: Int8, CaseIterable, Sendable {
    case unknown = 0, any = 1, all = 2, read = 3, write = 4, create = 5, delete = 6, alter = 7, describe = 8,
         clusterAction = 9, describeConfigs = 10, alterConfigs = 11, idempotentWrite = 12, createTokens = 13,
         describeTokens = 14

    /// Kafka's names: READ, CLUSTER_ACTION, DESCRIBE_CONFIGS ...
    public var name: String {
        "\(self)".replacingOccurrences(of: "([a-z])([A-Z])", with: "$1_$2", options: .regularExpression).uppercased()
    }

    public init?(name: String) {
        let wanted = name.uppercased().replacingOccurrences(of: "-", with: "_")
        guard let found = Self.allCases.first(where: { $0.name == wanted }) else { return nil }
        self = found
    }

    /// What an ALLOW of this operation also allows: READ, WRITE, DELETE and ALTER allow DESCRIBE; ALTER_CONFIGS
    /// allows DESCRIBE_CONFIGS.
    func allows(_ wanted: AclOperation) -> Bool {
        if self == .all || self == wanted { return true }
        switch wanted {
        case .describe: return [.read, .write, .delete, .alter].contains(self)
        case .describeConfigs: return self == .alterConfigs
        default: return false
        }
    }
}

public enum AclPermission: Int8, CaseIterable, Sendable {
    case unknown = 0, any = 1, deny = 2, allow = 3

    public var name: String { "\(self)".uppercased() }
}

/// One ACL: who may (or may not) do what to which resources, from which host.
public struct AclBinding: Hashable, Sendable {
    public var resourceType: AclResourceType
    public var resourceName: String
    public var patternType: AclPatternType
    public var principal: String
    public var host: String
    public var operation: AclOperation
    public var permission: AclPermission

    public init(resourceType: AclResourceType, resourceName: String, patternType: AclPatternType, principal: String,
                host: String = "*", operation: AclOperation, permission: AclPermission) {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.patternType = patternType
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permission = permission
    }

    /// Whether this ACL's resource pattern covers the resource `name` of `type`.
    func covers(_ type: AclResourceType, _ name: String) -> Bool {
        guard resourceType == type else { return false }
        switch patternType {
        case .literal: return resourceName == name || resourceName == "*"
        case .prefixed: return name.hasPrefix(resourceName)
        default: return false
        }
    }

    /// Why Kafka would refuse to create it, or nil.
    public var problem: String? {
        if [.unknown, .any].contains(resourceType) { return "Invalid resource type \(resourceType.name)" }
        if ![.literal, .prefixed].contains(patternType) { return "Invalid pattern type \(patternType.name)" }
        if [.unknown, .any].contains(operation) { return "Invalid operation \(operation.name)" }
        if ![.allow, .deny].contains(permission) { return "Invalid permission type \(permission.name)" }
        if resourceName.isEmpty { return "Resource name must not be empty" }
        if resourceType == .cluster && resourceName != "kafka-cluster" { return "The only valid name for the CLUSTER resource is kafka-cluster" }
        guard let colon = principal.firstIndex(of: ":"), colon != principal.startIndex,
              principal.index(after: colon) != principal.endIndex else {
            return "Could not parse principal from `\(principal)` (no colon is present separating the principal type from the principal name)"
        }
        return nil
    }
}

/// A DescribeAcls / DeleteAcls filter: ANY and nil match everything; MATCH matches the patterns that cover a name.
public struct AclFilter: Sendable {
    public var resourceType: AclResourceType
    public var resourceName: String?
    public var patternType: AclPatternType
    public var principal: String?
    public var host: String?
    public var operation: AclOperation
    public var permission: AclPermission

    public init(resourceType: AclResourceType, resourceName: String?, patternType: AclPatternType, principal: String?,
                host: String?, operation: AclOperation, permission: AclPermission) {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.patternType = patternType
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permission = permission
    }

    public func matches(_ acl: AclBinding) -> Bool {
        guard resourceType == .any || resourceType == acl.resourceType,
              operation == .any || operation == acl.operation,
              permission == .any || permission == acl.permission,
              principal == nil || principal == acl.principal,
              host == nil || host == acl.host else { return false }
        switch patternType {
        case .any: return resourceName == nil || resourceName == acl.resourceName
        case .match:
            guard let resourceName else { return true }
            return acl.covers(acl.resourceType, resourceName)
        default: return acl.patternType == patternType && (resourceName == nil || resourceName == acl.resourceName)
        }
    }
}

/// Kafka's StandardAuthorizer: super users may do anything; a matching DENY wins over any ALLOW; an ALLOW of the
/// operation (or of one that implies it, or ALL) allows; a resource no ACL covers is allowed only with
/// `allow.everyone.if.no.acl.found`; everything else is denied.
public struct Authorizer: Sendable {
    public let acls: [AclBinding]
    public let superUsers: Set<String>
    public let allowEveryoneIfNoAclFound: Bool

    public init(acls: [AclBinding], superUsers: Set<String>, allowEveryoneIfNoAclFound: Bool) {
        self.acls = acls
        self.superUsers = superUsers
        self.allowEveryoneIfNoAclFound = allowEveryoneIfNoAclFound
    }

    public static let clusterName = "kafka-cluster"

    public func authorize(_ principal: String, host: String, _ operation: AclOperation, _ type: AclResourceType,
                          _ name: String) -> Bool {
        if superUsers.contains(principal) { return true }
        // One pass, no arrays: this runs for every topic of every Produce and Fetch.
        var covered = false, allowed = false
        for acl in acls where acl.covers(type, name) {
            covered = true
            guard acl.principal == principal || acl.principal == "User:*", acl.host == "*" || acl.host == host else { continue }
            if acl.permission == .deny && (acl.operation == operation || acl.operation == .all) { return false }
            if acl.permission == .allow && acl.operation.allows(operation) { allowed = true }
        }
        return covered ? allowed : allowEveryoneIfNoAclFound
    }

    /// Whether `operation` is allowed on some resource of `type` (Kafka's authorizeByResourceType, which an
    /// idempotent producer's InitProducerId asks for WRITE on any topic): an ALLOW, literal or prefixed, that no
    /// DENY of the principal covers (a literal `*` DENY covers everything; a prefixed DENY covers what starts with it).
    public func authorizeAny(_ principal: String, host: String, _ operation: AclOperation, _ type: AclResourceType) -> Bool {
        if superUsers.contains(principal) { return true }
        let applies = { (acl: AclBinding) in
            acl.resourceType == type && (acl.principal == principal || acl.principal == "User:*")
                && (acl.host == "*" || acl.host == host)
        }
        let denies = acls.filter { applies($0) && $0.permission == .deny && ($0.operation == operation || $0.operation == .all) }
        if denies.contains(where: { $0.patternType == .literal && $0.resourceName == "*" }) { return false }
        let typeHasAcls = acls.contains { $0.resourceType == type }
        if !typeHasAcls { return allowEveryoneIfNoAclFound }
        return acls.contains { allow in
            guard applies(allow), allow.permission == .allow, allow.operation.allows(operation) else { return false }
            return !denies.contains { deny in
                deny.patternType == .prefixed ? allow.resourceName.hasPrefix(deny.resourceName)
                    : allow.patternType == .literal && deny.resourceName == allow.resourceName
            }
        }
    }
}

extension AclBinding {
    /// From the wire's numbers (CreateAcls, DescribeAcls, DeleteAcls, AccessControlEntryRecord): a number Kafka
    /// does not define reads as UNKNOWN, which `problem` refuses.
    public init(wire resourceType: Int8, _ resourceName: String, _ patternType: Int8, _ principal: String, _ host: String,
                _ operation: Int8, _ permission: Int8) {
        self.init(resourceType: AclResourceType(rawValue: resourceType) ?? .unknown, resourceName: resourceName,
                  patternType: AclPatternType(rawValue: patternType) ?? .unknown, principal: principal, host: host,
                  operation: AclOperation(rawValue: operation) ?? .unknown,
                  permission: AclPermission(rawValue: permission) ?? .unknown)
    }
}

extension AclFilter {
    public init(wire resourceType: Int8, _ resourceName: String?, _ patternType: Int8, _ principal: String?, _ host: String?,
                _ operation: Int8, _ permission: Int8) {
        self.init(resourceType: AclResourceType(rawValue: resourceType) ?? .unknown, resourceName: resourceName,
                  patternType: AclPatternType(rawValue: patternType) ?? .unknown, principal: principal, host: host,
                  operation: AclOperation(rawValue: operation) ?? .unknown,
                  permission: AclPermission(rawValue: permission) ?? .unknown)
    }
}
