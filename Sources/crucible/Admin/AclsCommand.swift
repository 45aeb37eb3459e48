import ArgumentParser
import CrucibleClient
import CrucibleSecurity

/// `kafka-acls.sh`: add, remove and list ACLs, with its flags and its output.
struct AclsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acls", abstract: "Add, remove or list ACLs (as kafka-acls.sh).")

    @OptionGroup var server: BootstrapServer
    @Flag(name: .long, help: "Add ACLs.") var add = false
    @Flag(name: .long, help: "Remove ACLs (no confirmation is asked).") var remove = false
    @Flag(name: .long, help: "List ACLs.") var list = false
    @Flag(name: .long, help: "Accepted for kafka-acls.sh compatibility: removal never asks.") var force = false
    @Option(name: .long, help: "Principal to allow, e.g. User:alice (repeatable).") var allowPrincipal: [String] = []
    @Option(name: .long, help: "Principal to deny (repeatable).") var denyPrincipal: [String] = []
    @Option(name: .long, help: "Host the allowed principals may come from (default *).") var allowHost: [String] = []
    @Option(name: .long, help: "Host the denied principals are denied from (default *).") var denyHost: [String] = []
    @Option(name: .long, help: "Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All (repeatable).")
    var operation: [String] = []
    @Option(name: .long, help: "Topic (repeatable; * for all).") var topic: [String] = []
    @Option(name: .long, help: "Consumer group (repeatable).") var group: [String] = []
    @Option(name: .long, help: "Transactional id (repeatable).") var transactionalId: [String] = []
    @Flag(name: .long, help: "The cluster resource.") var cluster = false
    @Option(name: .long, help: "literal or prefixed (add, remove); any or match too when listing.") var resourcePatternType: String?
    @Option(name: .long, help: "With --list: only this principal's ACLs.") var principal: String?
    @Flag(name: .long, help: "The ACLs a producer needs: WRITE, DESCRIBE and CREATE on the topics (and the transactional ids).")
    var producer = false
    @Flag(name: .long, help: "With --producer: IDEMPOTENT_WRITE on the cluster too.") var idempotent = false
    @Flag(name: .long, help: "The ACLs a consumer needs: READ and DESCRIBE on the topics, READ on the group.") var consumer = false

    func run() throws {
        guard [add, remove, list].filter({ $0 }).count == 1 else { throw UsageError("exactly one of --add, --remove, --list is required") }
        let patternType = try self.patternType()
        let resources = resourcesNamed(patternType)
        if (add || remove) && resources.isEmpty {
            throw UsageError("--add and --remove need a resource: --topic, --group, --cluster or --transactional-id")
        }
        let client = try server.connect(clientId: "crucible-acls")
        defer { client.close() }
        do {
            if list { return try listAcls(client, resources: resources, patternType: patternType) }
            let bindings = try self.bindings(resources)
            let grouped = Dictionary(grouping: bindings) { ResourceKey($0) }
            if add {
                for (resource, acls) in grouped.sorted(by: { $0.key.text < $1.key.text }) {
                    print("Adding ACLs for resource `\(resource.text)`: \n \(acls.map(Self.entry).joined(separator: "\n")) \n")
                }
                for error in try client.createAcls(bindings).compactMap({ $0 }) { throw error }
            } else {
                let removed = try client.deleteAcls(bindings.map { binding in
                    AclFilter(resourceType: binding.resourceType, resourceName: binding.resourceName, patternType: binding.patternType,
                              principal: binding.principal, host: binding.host, operation: binding.operation,
                              permission: binding.permission)
                }).flatMap { $0 }
                for (resource, acls) in Dictionary(grouping: removed, by: { ResourceKey($0) }).sorted(by: { $0.key.text < $1.key.text }) {
                    print("Removing ACLs for resource `\(resource.text)`: \n \(acls.map(Self.entry).joined(separator: "\n")) \n")
                }
            }
            try listAcls(client, resources: Array(Set(grouped.keys.map(\.resource))), patternType: patternType)
        } catch let error as KafkaClientError {
            Tool.fail("Error while executing ACL command: \(error)")
        }
    }

    private func listAcls(_ client: KafkaClient, resources: [Resource], patternType: AclPatternType) throws {
        let filters = resources.isEmpty ? [Resource(type: .any, name: nil, pattern: list ? (resourcePatternType == nil ? .any : patternType) : patternType)]
            : resources
        var found: [AclBinding] = []
        for resource in filters {
            found += try client.describeAcls(AclFilter(resourceType: resource.type, resourceName: resource.name,
                                                       patternType: resource.pattern, principal: principal, host: nil,
                                                       operation: .any, permission: .any))
        }
        for (resource, acls) in Dictionary(grouping: Set(found), by: { ResourceKey($0) }).sorted(by: { $0.key.text < $1.key.text }) {
            let sorted = acls.sorted { ($0.principal, $0.operation.rawValue, $0.permission.rawValue) < ($1.principal, $1.operation.rawValue, $1.permission.rawValue) }
            print("Current ACLs for resource `\(resource.text)`: \n \(sorted.map(Self.entry).joined(separator: "\n")) \n")
        }
    }

    struct Resource: Hashable {
        var type: AclResourceType
        var name: String?
        var pattern: AclPatternType
    }

    struct ResourceKey: Hashable {
        let resource: Resource
        init(_ acl: AclBinding) { resource = Resource(type: acl.resourceType, name: acl.resourceName, pattern: acl.patternType) }
        var text: String {
            "ResourcePattern(resourceType=\(resource.type.name), name=\(resource.name ?? "*"), patternType=\(resource.pattern.name))"
        }
    }

    static func entry(_ acl: AclBinding) -> String {
        "\t(principal=\(acl.principal), host=\(acl.host), operation=\(acl.operation.name), permissionType=\(acl.permission.name))"
    }

    private func patternType() throws -> AclPatternType {
        guard let text = resourcePatternType else { return .literal }
        guard let type = AclPatternType.allCases.first(where: { $0.name == text.uppercased() }), type != .unknown else {
            throw UsageError("--resource-pattern-type \(text): expected literal, prefixed, any or match")
        }
        if (add || remove) && ![.literal, .prefixed].contains(type) {
            throw UsageError("--resource-pattern-type \(text): --add and --remove take literal or prefixed")
        }
        return type
    }

    private func resourcesNamed(_ pattern: AclPatternType) -> [Resource] {
        topic.map { Resource(type: .topic, name: $0, pattern: pattern) } + group.map { Resource(type: .group, name: $0, pattern: pattern) }
            + transactionalId.map { Resource(type: .transactionalId, name: $0, pattern: pattern) }
            + (cluster || (producer && idempotent) ? [Resource(type: .cluster, name: Authorizer.clusterName, pattern: .literal)] : [])
    }

    /// The ACLs of --add / --remove: every principal, host and operation on every resource, or the --producer /
    /// --consumer sets.
    private func bindings(_ resources: [Resource]) throws -> [AclBinding] {
        guard !allowPrincipal.isEmpty || !denyPrincipal.isEmpty else {
            throw UsageError("--add and --remove need --allow-principal or --deny-principal")
        }
        for principal in allowPrincipal + denyPrincipal where !principal.contains(":") {
            throw UsageError("--allow-principal/--deny-principal \(principal): expected TYPE:NAME, e.g. User:alice")
        }
        let explicit = try operation.map { name -> AclOperation in
            guard let found = AclOperation(name: name.replacingOccurrences(of: "([a-z])([A-Z])", with: "$1_$2", options: .regularExpression)),
                  ![.unknown, .any].contains(found) else {
                throw UsageError("--operation \(name): not an ACL operation")
            }
            return found
        }
        if consumer && group.isEmpty { throw UsageError("--consumer needs --group") }
        func operations(for resource: Resource) -> [AclOperation] {
            var found = explicit
            if producer {
                switch resource.type {
                case .topic: found += [.write, .describe, .create]
                case .transactionalId: found += [.write, .describe]
                case .cluster where idempotent: found += [.idempotentWrite]
                default: break
                }
            }
            if consumer {
                switch resource.type {
                case .topic: found += [.read, .describe]
                case .group: found += [.read]
                default: break
                }
            }
            return found.isEmpty && !producer && !consumer ? [.all] : found
        }
        var result: [AclBinding] = []
        for resource in resources {
            for operation in Set(operations(for: resource)).sorted(by: { $0.rawValue < $1.rawValue }) {
                for principal in allowPrincipal {
                    for host in allowHost.isEmpty ? ["*"] : allowHost {
                        result.append(AclBinding(resourceType: resource.type, resourceName: resource.name ?? "*",
                                                 patternType: resource.pattern, principal: principal, host: host,
                                                 operation: operation, permission: .allow))
                    }
                }
                for principal in denyPrincipal {
                    for host in denyHost.isEmpty ? ["*"] : denyHost {
                        result.append(AclBinding(resourceType: resource.type, resourceName: resource.name ?? "*",
                                                 patternType: resource.pattern, principal: principal, host: host,
                                                 operation: operation, permission: .deny))
                    }
                }
            }
        }
        return result
    }
}
