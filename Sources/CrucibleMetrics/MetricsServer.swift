import NIOCore
import NIOHTTP1
import NIOPosix

/// `GET /metrics` over HTTP/1.1 on a port of its own, as Prometheus scrapes it; anything else is 404 (or 405 for
/// another method). Each scrape is one `MetricsRegistry.scrape()`.
public final class MetricsServer: Sendable {
    private let channel: Channel

    public var port: Int { channel.localAddress?.port ?? 0 }

    public init(host: String, port: Int, metrics: MetricsRegistry, group: EventLoopGroup) throws {
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(MetricsHandler(metrics: metrics))
                }
            }
            .bind(host: host, port: port).wait()
    }

    public func close() { try? channel.close().wait() }
}

private final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: MetricsRegistry
    private var head: HTTPRequestHead?

    init(metrics: MetricsRegistry) { self.metrics = metrics }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break
        case .end:
            guard let request = head else { return }
            head = nil
            let path = request.uri.split(separator: "?").first.map(String.init) ?? request.uri
            if request.method != .GET && request.method != .HEAD {
                respond(context, request, .methodNotAllowed, Array("GET /metrics only\n".utf8))
            } else if path == "/metrics" {
                respond(context, request, .ok, metrics.scrape(), contentType: "text/plain; version=0.0.4; charset=utf-8")
            } else {
                respond(context, request, .notFound, Array("not found: try /metrics\n".utf8))
            }
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ request: HTTPRequestHead, _ status: HTTPResponseStatus,
                         _ body: [UInt8], contentType: String = "text/plain; charset=utf-8") {
        var headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", String(body.count))])
        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        if request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let keepAlive = request.isKeepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }
}
