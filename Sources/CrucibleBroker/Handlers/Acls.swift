import CrucibleController
import CrucibleProtocol
import CrucibleSecurity

/// CreateAcls and DeleteAcls (decided by the controller, so forwarded like other decisions), DescribeAcls (from
/// this node's image). Without an authorizer Kafka answers SECURITY_DISABLED.
extension BrokerApis {
    func serveAcls(in table: inout ApiTable, forwarding: ControllerForwarding?) {
        let create = forwarding.map { $0.wrap(createAcls, refusal: ControllerRefusal.createAcls) } ?? createAcls
        let delete = forwarding.map { $0.wrap(deleteAcls, refusal: ControllerRefusal.deleteAcls) } ?? deleteAcls
        table.serve(CreateAclsRequest.self, versions: 0...3) { [self] request, context in
            guard config.security.authorizerEnabled else { return .now(ControllerRefusal.createAcls(request, .securityDisabled)) }
            guard allowedOnCluster(context, .alter) else { return .now(ControllerRefusal.createAcls(request, .clusterAuthorizationFailed)) }
            return try create(request, context)
        }
        table.serve(DeleteAclsRequest.self, versions: 0...3) { [self] request, context in
            guard config.security.authorizerEnabled else { return .now(ControllerRefusal.deleteAcls(request, .securityDisabled)) }
            guard allowedOnCluster(context, .alter) else { return .now(ControllerRefusal.deleteAcls(request, .clusterAuthorizationFailed)) }
            return try delete(request, context)
        }
        table.serve(DescribeAclsRequest.self, versions: 0...3, describeAcls)
    }

    private func createAcls(_ request: CreateAclsRequest, _ context: RequestContext) -> Reply<CreateAclsResponse> {
        let bindings = request.creations.map {
            AclBinding(wire: $0.resourceType, $0.resourceName, $0.resourcePatternType, $0.principal, $0.host, $0.operation,
                       $0.permissionType)
        }
        return .later(controller.createAcls(bindings).map { results in
            var response = CreateAclsResponse()
            response.results = results.map { error, message in
                var result = CreateAclsResponse.AclCreationResult()
                result.errorCode = error.rawValue
                result.errorMessage = message
                return result
            }
            return HandlerOutput(response: response)
        })
    }

    private func deleteAcls(_ request: DeleteAclsRequest, _ context: RequestContext) -> Reply<DeleteAclsResponse> {
        let filters = request.filters.map {
            AclFilter(wire: $0.resourceTypeFilter, $0.resourceNameFilter, $0.patternTypeFilter, $0.principalFilter,
                      $0.hostFilter, $0.operation, $0.permissionType)
        }
        return .later(controller.deleteAcls(filters).map { results in
            var response = DeleteAclsResponse()
            response.filterResults = results.map { matched in
                var result = DeleteAclsResponse.DeleteAclsFilterResult()
                result.errorMessage = nil
                result.matchingAcls = matched.map { acl in
                    var entry = DeleteAclsResponse.DeleteAclsMatchingAcl()
                    entry.errorMessage = nil
                    entry.resourceType = acl.resourceType.rawValue
                    entry.resourceName = acl.resourceName
                    entry.patternType = acl.patternType.rawValue
                    entry.principal = acl.principal
                    entry.host = acl.host
                    entry.operation = acl.operation.rawValue
                    entry.permissionType = acl.permission.rawValue
                    return entry
                }
                return result
            }
            return HandlerOutput(response: response)
        })
    }

    private func describeAcls(_ request: DescribeAclsRequest, _ context: RequestContext) -> Reply<DescribeAclsResponse> {
        var response = DescribeAclsResponse()
        response.errorMessage = nil
        guard config.security.authorizerEnabled else {
            response.errorCode = ErrorCode.securityDisabled.rawValue
            return .now(response)
        }
        guard allowedOnCluster(context, .describe) else {
            response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            return .now(response)
        }
        let filter = AclFilter(wire: request.resourceTypeFilter, request.resourceNameFilter, request.patternTypeFilter,
                               request.principalFilter, request.hostFilter, request.operation, request.permissionType)
        let matching = controller.currentImage.acls.values.filter(filter.matches)
        let byResource = Dictionary(grouping: matching) { "\($0.resourceType.rawValue)\u{0}\($0.patternType.rawValue)\u{0}\($0.resourceName)" }
        response.resources = byResource.keys.sorted().map { key in
            let acls = byResource[key]!
            var resource = DescribeAclsResponse.DescribeAclsResource()
            resource.resourceType = acls[0].resourceType.rawValue
            resource.resourceName = acls[0].resourceName
            resource.patternType = acls[0].patternType.rawValue
            resource.acls = acls.sorted { ($0.principal, $0.operation.rawValue) < ($1.principal, $1.operation.rawValue) }.map { acl in
                var description = DescribeAclsResponse.AclDescription()
                description.principal = acl.principal
                description.host = acl.host
                description.operation = acl.operation.rawValue
                description.permissionType = acl.permission.rawValue
                return description
            }
            return resource
        }
        return .now(response)
    }
}

extension ControllerRefusal {
    static func createAcls(_ request: CreateAclsRequest, _ code: ErrorCode) -> CreateAclsResponse {
        var response = CreateAclsResponse()
        response.results = request.creations.map { _ in
            var result = CreateAclsResponse.AclCreationResult()
            result.errorCode = code.rawValue
            result.errorMessage = nil
            return result
        }
        return response
    }

    static func deleteAcls(_ request: DeleteAclsRequest, _ code: ErrorCode) -> DeleteAclsResponse {
        var response = DeleteAclsResponse()
        response.filterResults = request.filters.map { _ in
            var result = DeleteAclsResponse.DeleteAclsFilterResult()
            result.errorCode = code.rawValue
            result.errorMessage = nil
            return result
        }
        return response
    }
}
