import NIOPosix

/// A harness run's own `/metrics` (`bench --metrics-port`, `verify --metrics-port`): a registry the run updates
/// as it goes, served on a thread of its own until closed, so a long run can be watched from Prometheus or curl.
public final class ProgressEndpoint: Sendable {
    public let metrics = MetricsRegistry()
    private let group: MultiThreadedEventLoopGroup
    private let server: MetricsServer

    public init(host: String, port: Int) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            server = try MetricsServer(host: host, port: port, metrics: metrics, group: group)
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    /// The port it listens on (the one asked for, or the one the system chose for 0).
    public var port: Int { server.port }

    public func close() {
        server.close()
        try? group.syncShutdownGracefully()
    }
}
