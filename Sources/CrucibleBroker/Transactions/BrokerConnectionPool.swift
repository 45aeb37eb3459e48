import CrucibleClient
import CrucibleSecurity
import NIOConcurrencyHelpers
import NIOCore

/// One connection per other broker for the transaction machinery's requests (markers, KIP-890 verification),
/// opened on first use and replaced after a failure.
final class BrokerConnectionPool: @unchecked Sendable {
    private let nodeId: Int32
    private let group: EventLoopGroup
    private let clientId: String
    private let security: ClientSecurity
    private let lock = NIOLock()
    private var connections: [Int32: EventLoopFuture<BrokerConnection>] = [:]

    init(nodeId: Int32, group: EventLoopGroup, clientId: String, security: ClientSecurity) {
        self.security = security
        self.nodeId = nodeId
        self.group = group
        self.clientId = clientId
    }

    func connection(to node: Int32, host: String, port: Int) -> EventLoopFuture<BrokerConnection> {
        lock.withLock {
            if let existing = connections[node] { return existing }
            let made = BrokerConnection.open(host: host, port: port, group: group, clientId: "\(clientId)-\(nodeId)", timeout: .seconds(5),
                                            security: security)
            connections[node] = made
            return made
        }
    }

    /// Forgets the connection to `node` (it failed); the next request opens another.
    func drop(_ node: Int32) {
        let dropped = lock.withLock { connections.removeValue(forKey: node) }
        dropped?.whenSuccess { $0.close() }
    }

    func close() {
        let all = lock.withLock { () -> [EventLoopFuture<BrokerConnection>] in
            defer { connections.removeAll() }
            return Array(connections.values)
        }
        for connection in all { connection.whenSuccess { $0.close() } }
    }
}
