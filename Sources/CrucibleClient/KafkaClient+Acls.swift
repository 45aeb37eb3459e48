import CrucibleProtocol
import CrucibleSecurity

/// CreateAcls, DescribeAcls and DeleteAcls (kafka-acls.sh's requests).
extension KafkaClient {
    /// Creates `bindings`; the error of each that failed (nil for the ones created).
    public func createAcls(_ bindings: [AclBinding]) throws -> [KafkaClientError?] {
        var request = CreateAclsRequest()
        request.creations = bindings.map { binding in
            var creation = CreateAclsRequest.AclCreation()
            creation.resourceType = binding.resourceType.rawValue
            creation.resourceName = binding.resourceName
            creation.resourcePatternType = binding.patternType.rawValue
            creation.principal = binding.principal
            creation.host = binding.host
            creation.operation = binding.operation.rawValue
            creation.permissionType = binding.permission.rawValue
            return creation
        }
        let (response, _) = try call(request, on: try anyConnection())
        return response.results.map { result in
            let code = ErrorCode(rawValue: result.errorCode)
            return code == .none ? nil : KafkaClientError.kafka(code, message: result.errorMessage)
        }
    }

    public func describeAcls(_ filter: AclFilter) throws -> [AclBinding] {
        var request = DescribeAclsRequest()
        request.resourceTypeFilter = filter.resourceType.rawValue
        request.resourceNameFilter = filter.resourceName
        request.patternTypeFilter = filter.patternType.rawValue
        request.principalFilter = filter.principal
        request.hostFilter = filter.host
        request.operation = filter.operation.rawValue
        request.permissionType = filter.permission.rawValue
        let (response, _) = try call(request, on: try anyConnection())
        try ErrorCode(rawValue: response.errorCode).check("DescribeAcls")
        return response.resources.flatMap { resource in
            resource.acls.map { acl in
                AclBinding(wire: resource.resourceType, resource.resourceName, resource.patternType, acl.principal, acl.host,
                           acl.operation, acl.permissionType)
            }
        }
    }

    /// Deletes what each filter matches; per filter, the ACLs removed.
    public func deleteAcls(_ filters: [AclFilter]) throws -> [[AclBinding]] {
        var request = DeleteAclsRequest()
        request.filters = filters.map { filter in
            var entry = DeleteAclsRequest.DeleteAclsFilter()
            entry.resourceTypeFilter = filter.resourceType.rawValue
            entry.resourceNameFilter = filter.resourceName
            entry.patternTypeFilter = filter.patternType.rawValue
            entry.principalFilter = filter.principal
            entry.hostFilter = filter.host
            entry.operation = filter.operation.rawValue
            entry.permissionType = filter.permission.rawValue
            return entry
        }
        let (response, _) = try call(request, on: try anyConnection())
        return try response.filterResults.map { result in
            try ErrorCode(rawValue: result.errorCode).check("DeleteAcls")
            return result.matchingAcls.map {
                AclBinding(wire: $0.resourceType, $0.resourceName, $0.patternType, $0.principal, $0.host, $0.operation,
                           $0.permissionType)
            }
        }
    }
}
