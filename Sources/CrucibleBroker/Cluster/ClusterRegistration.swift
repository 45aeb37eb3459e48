import CrucibleController
import CrucibleProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Registers this broker with the active controller once a leader is known, and again whenever the committed
/// metadata stops showing it with its current endpoints (a single node registers synchronously at start
/// instead). A minimal form of KIP-631's registration; heartbeats and fencing build on it.
final class ClusterRegistration: @unchecked Sendable {
    private let nodeId: Int32
    private let endpoints: [BrokerEndpointImage]
    private let controller: QuorumController
    private let forwarding: ControllerForwarding
    private let logger: Logger
    private let incarnation = KafkaUUID.random()
    private let attempting = NIOLockedValueBox(false)

    init(nodeId: Int32, endpoints: [BrokerEndpointImage], controller: QuorumController,
         forwarding: ControllerForwarding, logger: Logger) {
        self.nodeId = nodeId
        self.endpoints = endpoints
        self.controller = controller
        self.forwarding = forwarding
        self.logger = logger
    }

    /// Called periodically; does nothing while registered or while an attempt is under way.
    func registerIfNeeded() {
        let registered = controller.currentImage.brokers[nodeId]
        guard registered?.endpoints != endpoints || registered?.fenced != false,
              controller.quorum.leaderId != nil,
              attempting.withLockedValue({ let busy = $0; $0 = true; return !busy }) else { return }
        attempt().whenComplete { [self] result in
            attempting.withLockedValue { $0 = false }
            if case .failure(let error) = result { logger.debug("broker registration not done yet: \(error)") }
        }
    }

    private func attempt() -> EventLoopFuture<Void> {
        if controller.isActive {
            return controller.registerBroker(id: nodeId, endpoints: endpoints, incarnation: incarnation).map { _ in }
        }
        var request = BrokerRegistrationRequest()
        request.brokerId = nodeId
        request.incarnationId = incarnation
        request.listeners = endpoints.map { endpoint in
            var listener = BrokerRegistrationRequest.Listener()
            listener.name = endpoint.name
            listener.host = endpoint.host
            listener.port = UInt16(clamping: endpoint.port)
            return listener
        }
        return forwarding.forward(request, version: 0, refusal: ControllerRefusal.brokerRegistration)
            .flatMapThrowing { try ErrorCode(rawValue: $0.errorCode).throwIfError() }
    }
}

extension ErrorCode {
    func throwIfError() throws {
        if self != .none { throw BrokerStartError(description: "error code \(rawValue)") }
    }
}
