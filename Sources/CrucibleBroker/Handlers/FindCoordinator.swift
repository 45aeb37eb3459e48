import CrucibleProtocol

extension BrokerApis {
    /// Names this node as the coordinator of every group (a single coordinator until group state is
    /// replicated). Transaction coordinators do not exist yet: COORDINATOR_NOT_AVAILABLE.
    func findCoordinator(_ request: FindCoordinatorRequest, _ context: RequestContext) throws -> Reply<FindCoordinatorResponse> {
        let keys = context.version >= 4 ? request.coordinatorKeys : [request.key]
        let endpoint = config.advertisedClientListeners.first
        let coordinators = keys.map { key -> FindCoordinatorResponse.Coordinator in
            var coordinator = FindCoordinatorResponse.Coordinator()
            coordinator.key = key
            if request.keyType == 0, let endpoint {
                coordinator.nodeId = nodeId
                coordinator.host = endpoint.host.isEmpty ? "localhost" : endpoint.host
                coordinator.port = Int32(endpoint.port)
            } else {
                coordinator.nodeId = -1
                coordinator.port = -1
                coordinator.errorCode = ErrorCode.coordinatorNotAvailable.rawValue
            }
            return coordinator
        }
        var response = FindCoordinatorResponse()
        if context.version >= 4 {
            response.coordinators = coordinators
        } else if let only = coordinators.first {
            response.errorCode = only.errorCode
            response.nodeId = only.nodeId
            response.host = only.host
            response.port = only.port
        }
        return .now(response)
    }
}
