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
                                                               metadataDirectory: config.metadataDirectory,
                                                               security: config.security.controllerClient),
                                  logger: logger)
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
