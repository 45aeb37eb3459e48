import CrucibleClient
import CrucibleSecurity
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

/// Connections to the controllers' listeners: one per node, opened on first use and again after it breaks, with
/// a backoff between failed attempts. A request that cannot be sent fails at once. The quorum sends its Raft
/// RPCs with it (a lost message is resent by the core's timers); a broker forwards requests to the active
/// controller with it. State lives on one event loop; calls from elsewhere hop onto it.
public final class ControllerConnections: @unchecked Sendable {
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
    private let security: ClientSecurity
    private var peers: [RaftNodeID: Peer]
    private var closed = false

    public init(eventLoop: EventLoop, clientId: String, localId: RaftNodeID,
                addresses: [RaftNodeID: QuorumVoterAddress], security: ClientSecurity = .plaintext) {
        self.eventLoop = eventLoop
        self.clientId = clientId
        self.security = security
        peers = addresses.filter { $0.key != localId }.mapValues(Peer.init)
    }

    /// Sends `request` to node `id` at `version` (nil: the highest both sides speak).
    public func send<Request: KafkaRequest>(_ request: Request, version: Int16? = nil, to id: RaftNodeID,
                                            timeout: TimeAmount) -> EventLoopFuture<Request.Response> {
        onLoop {
            self.connection(to: id).flatMap { connection in
                guard let version else { return connection.send(request, timeout: timeout).map(\.0) }
                return connection.send(request, version: version, timeout: timeout)
            }
        }
    }

    private func onLoop<Value>(_ body: @escaping () -> EventLoopFuture<Value>) -> EventLoopFuture<Value> {
        eventLoop.inEventLoop ? body() : eventLoop.flatSubmit(body)
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
                                               clientId: clientId, timeout: .milliseconds(Self.backoffMaxMs),
                                               security: security)
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

    public func close() {
        _ = onLoop { [self] in
            closed = true
            for peer in peers.values {
                peer.connection?.close()
                peer.connection = nil
            }
            return eventLoop.makeSucceededVoidFuture()
        }
    }
}
