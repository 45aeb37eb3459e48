import CrucibleClient
import CrucibleProtocol
import CrucibleRaft
import NIOCore

/// Where a voter's controller listener is (`controller.quorum.voters`).
public struct QuorumVoterAddress: Sendable, Equatable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// Outgoing quorum RPCs: one connection per peer, opened on first use and again after it breaks, with a backoff
/// between failed attempts. A request that cannot be sent fails at once: the message is simply lost, and the
/// Raft core's timers send it again. Everything runs on the quorum's event loop.
final class RaftPeerTransport {
    private final class Peer {
        let address: QuorumVoterAddress
        var connection: BrokerConnection?
        var connecting: EventLoopFuture<BrokerConnection>?
        var retryAt = NIODeadline.uptimeNanoseconds(0)
        var backoffMs: Int64 = 0

        init(address: QuorumVoterAddress) { self.address = address }
    }

    static let backoffMinMs: Int64 = 50
    static let backoffMaxMs: Int64 = 1000
    private let eventLoop: EventLoop
    private let clientId: String
    private var peers: [RaftNodeID: Peer]
    private var closed = false

    init(eventLoop: EventLoop, localId: RaftNodeID, addresses: [RaftNodeID: QuorumVoterAddress]) {
        self.eventLoop = eventLoop
        clientId = "raft-\(localId)"
        peers = addresses.filter { $0.key != localId }.mapValues(Peer.init)
    }

    func send<Request: KafkaRequest>(_ request: Request, to id: RaftNodeID,
                                     timeout: TimeAmount) -> EventLoopFuture<Request.Response> {
        connection(to: id).flatMap { $0.send(request, timeout: timeout) }.map(\.0)
    }

    private func connection(to id: RaftNodeID) -> EventLoopFuture<BrokerConnection> {
        eventLoop.preconditionInEventLoop()
        guard !closed, let peer = peers[id] else {
            return eventLoop.makeFailedFuture(KafkaClientError.connection("no address for quorum node \(id)"))
        }
        if let connection = peer.connection, connection.isActive { return eventLoop.makeSucceededFuture(connection) }
        if let connecting = peer.connecting { return connecting }
        guard NIODeadline.now() >= peer.retryAt else {
            return eventLoop.makeFailedFuture(KafkaClientError.connection("quorum node \(id): backing off"))
        }
        peer.connection?.close()
        peer.connection = nil
        let connecting = BrokerConnection.open(host: peer.address.host, port: peer.address.port, group: eventLoop,
                                               clientId: clientId, timeout: .milliseconds(Self.backoffMaxMs))
            .hop(to: eventLoop)
        peer.connecting = connecting
        connecting.whenComplete { [self] result in
            peer.connecting = nil
            switch result {
            case .success(let connection):
                guard !closed else { return connection.close() }
                peer.connection = connection
                peer.backoffMs = 0
            case .failure:
                peer.backoffMs = min(Self.backoffMaxMs, max(Self.backoffMinMs, peer.backoffMs * 2))
                peer.retryAt = NIODeadline.now() + .milliseconds(peer.backoffMs)
            }
        }
        return connecting
    }

    func close() {
        closed = true
        for peer in peers.values {
            peer.connection?.close()
            peer.connection = nil
        }
    }
}
