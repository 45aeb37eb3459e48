import CrucibleController
import Logging
import NIOCore

extension Broker {
    /// A quorum of one (a single voter that is this node) writes its metadata log directly; anything else runs
    /// Raft among `controller.quorum.voters`, this node voting if it is one of them and observing otherwise.
    static func makeQuorum(config: BrokerConfig, clusterId: String, eventLoop: EventLoop, nowMs: Int64,
                           logger: Logger) throws -> MetadataQuorum {
        let voters = config.controllerQuorumVoters
        if voters.isEmpty || (voters.count == 1 && voters[0].id == config.nodeId) {
            return LocalMetadataQuorum(nodeId: config.nodeId,
                                       log: try MetadataLog(directory: config.metadataDirectory, nowMs: nowMs),
                                       eventLoop: eventLoop)
        }
        return RaftMetadataQuorum(settings: RaftQuorumSettings(nodeId: config.nodeId, voters: config.voterAddresses,
                                                               clusterId: clusterId,
                                                               metadataDirectory: config.metadataDirectory),
                                  logger: logger)
    }

    /// In a cluster: forwarding to the active controller, and a repeated task that keeps this broker registered.
    static func joinCluster(config: BrokerConfig, controller: QuorumController, endpoints: [BrokerEndpointImage],
                            eventLoop: EventLoop, logger: Logger) -> (ControllerForwarding, RepeatedTask) {
        let connections = ControllerConnections(eventLoop: eventLoop, clientId: "forward-\(config.nodeId)",
                                                localId: config.nodeId, addresses: config.voterAddresses)
        let forwarding = ControllerForwarding(controller: controller, connections: connections)
        let registration = ClusterRegistration(nodeId: config.nodeId, endpoints: endpoints, controller: controller,
                                               forwarding: forwarding, logger: logger)
        let task = eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(200)) { _ in
            registration.registerIfNeeded()
        }
        return (forwarding, task)
    }
}

extension BrokerConfig {
    /// `controller.quorum.voters` by node id.
    var voterAddresses: [Int32: QuorumVoterAddress] {
        Dictionary(controllerQuorumVoters.map { ($0.id, QuorumVoterAddress(host: $0.host.isEmpty ? "127.0.0.1" : $0.host,
                                                                         port: $0.port)) },
                   uniquingKeysWith: { first, _ in first })
    }

    /// The listeners other controllers and forwarding brokers connect to (`controller.listener.names`).
    var controllerListeners: [Listener] {
        isController ? listeners.filter { controllerListenerNames.contains($0.name) } : []
    }
}
