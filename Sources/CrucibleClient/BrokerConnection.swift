import CrucibleProtocol
import CrucibleSecurity
import NIOCore
import NIOPosix
import NIOSSL

/// One TCP connection to one broker, with the API versions agreed on it. Requests may be pipelined; responses
/// are matched by correlation id. Every request has a deadline, so nothing waits forever.
public final class BrokerConnection: Sendable {
    public let host: String
    public let port: Int
    let channel: Channel
    let clientId: String
    /// Highest version both sides speak, per API.
    let versions: [ApiKey: Int16]

    private init(host: String, port: Int, channel: Channel, clientId: String, versions: [ApiKey: Int16]) {
        self.host = host
        self.port = port
        self.channel = channel
        self.clientId = clientId
        self.versions = versions
    }

    /// Connects and negotiates API versions. Blocks the calling thread (not for use on an event loop).
    public static func connect(host: String, port: Int, group: EventLoopGroup, clientId: String,
                               timeout: TimeAmount, security: ClientSecurity = .plaintext) throws -> BrokerConnection {
        try open(host: host, port: port, group: group, clientId: clientId, timeout: timeout, security: security).wait()
    }

    /// Connects and negotiates API versions without blocking (for callers on an event loop).
    public static func open(host: String, port: Int, group: EventLoopGroup, clientId: String,
                            timeout: TimeAmount, security: ClientSecurity = .plaintext) -> EventLoopFuture<BrokerConnection> {
        ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = security.tls {
                        // SNI takes names only; an address is checked against the certificate's IP entries.
                        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : host))
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(ResponseFrameDecoder()), ResponseDispatcher())
                }
            }
            .connect(host: host, port: port)
            .flatMapErrorThrowing { throw KafkaClientError.connection("\(host):\(port): \($0)") }
            .flatMap { channel in
                negotiate(channel: channel, clientId: clientId, timeout: timeout)
                    .map { BrokerConnection(host: host, port: port, channel: channel, clientId: clientId, versions: $0) }
                    .flatMap { connection in
                        guard let login = security.sasl else { return channel.eventLoop.makeSucceededFuture(connection) }
                        return connection.authenticateAndRenew(login, timeout: timeout).map { connection }
                    }
                    .flatMapErrorThrowing { error in
                        channel.close(promise: nil)
                        throw error
                    }
            }
    }

    /// Versions above these need fields the tools do not track (Fetch v13+ names topics by id only).
    static let versionCaps: [ApiKey: Int16] = [.fetch: 12]

    /// ApiVersions v3 first; a broker that does not know v3 answers UNSUPPORTED_VERSION and is asked with v0
    /// (KIP-511). Then, per API, the highest version in both ranges.
    private static func negotiate(channel: Channel, clientId: String,
                                  timeout: TimeAmount) -> EventLoopFuture<[ApiKey: Int16]> {
        var request = ApiVersionsRequest()
        request.clientSoftwareName = "crucible"
        request.clientSoftwareVersion = "1.0"
        return exchange(request, version: 3, channel: channel, clientId: clientId, timeout: timeout)
            .flatMap { response in
                guard ErrorCode(rawValue: response.errorCode) == .unsupportedVersion else {
                    return channel.eventLoop.makeSucceededFuture(response)
                }
                return exchange(request, version: 0, channel: channel, clientId: clientId, timeout: timeout)
            }
            .flatMapThrowing { response in
                try ErrorCode(rawValue: response.errorCode).check("ApiVersions")
                var versions: [ApiKey: Int16] = [:]
                for range in response.apiKeys {
                    guard let api = ApiKey(rawValue: range.apiKey) else { continue }
                    let ours = api.validVersions
                    let highest = min(ours.upperBound, range.maxVersion, versionCaps[api] ?? .max)
                    if highest >= max(ours.lowerBound, range.minVersion) { versions[api] = highest }
                }
                return versions
            }
    }

    /// The version this connection uses for `api`, or an error when there is none.
    public func version(of api: ApiKey) throws -> Int16 {
        guard let version = versions[api] else { throw KafkaClientError.unsupportedApi(api) }
        return version
    }

    /// Sends `request` at the agreed version and decodes the answer.
    public func send<Request: KafkaRequest>(_ request: Request, timeout: TimeAmount) -> EventLoopFuture<(Request.Response, Int16)> {
        let version: Int16
        do {
            version = try self.version(of: Request.apiKey)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return Self.exchange(request, version: version, channel: channel, clientId: clientId, timeout: timeout)
            .map { ($0, version) }
    }

    /// Sends `request` at exactly `version` (relaying a request whose answer must match the asker's version);
    /// fails when the broker does not serve that version.
    public func send<Request: KafkaRequest>(_ request: Request, version: Int16,
                                            timeout: TimeAmount) -> EventLoopFuture<Request.Response> {
        guard let highest = versions[Request.apiKey], version <= highest,
              Request.apiKey.validVersions.contains(version) else {
            return channel.eventLoop.makeFailedFuture(KafkaClientError.unsupportedApi(Request.apiKey))
        }
        return Self.exchange(request, version: version, channel: channel, clientId: clientId, timeout: timeout)
    }

    /// Whether the connection is still open (a closed one is replaced by a new one).
    public var isActive: Bool { channel.isActive }

    /// Sends a request the broker will not answer (Produce with acks=0); succeeds once written.
    public func sendWithoutResponse<Request: KafkaRequest>(_ request: Request) -> EventLoopFuture<Void> {
        let version: Int16
        do {
            version = try self.version(of: Request.apiKey)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        let clientId = self.clientId
        let outgoing = OutgoingRequest(
            encode: { request.encodeFrame(correlationId: $0, clientId: clientId, version: version) },
            response: nil, timeout: .seconds(0), describe: "\(Request.apiKey)")
        return channel.writeAndFlush(outgoing)
    }

    private static func exchange<Request: KafkaRequest>(_ request: Request, version: Int16, channel: Channel,
                                                        clientId: String, timeout: TimeAmount) -> EventLoopFuture<Request.Response> {
        let slot = ResponseSlot(eventLoop: channel.eventLoop)
        let outgoing = OutgoingRequest(
            encode: { request.encodeFrame(correlationId: $0, clientId: clientId, version: version) },
            response: slot, timeout: timeout, describe: "\(Request.apiKey) v\(version) to \(channel.remoteAddress?.description ?? "broker")")
        // A write that fails before the dispatcher takes it (channel already torn down) must still answer.
        channel.writeAndFlush(outgoing).whenFailure { slot.fail(KafkaClientError.connection("\($0)")) }
        return slot.promise.futureResult.flatMapThrowing { frame in
            var frame = frame
            do {
                _ = try ResponseHeader(from: &frame, version: Request.apiKey.responseHeaderVersion(version))
                return try Request.Response(from: &frame, version: version)
            } catch {
                throw KafkaClientError.malformedResponse("\(Request.apiKey) v\(version): \(error)")
            }
        }
    }

    public func close() {
        channel.close(promise: nil)
    }
}
