import CrucibleProtocol
import Dispatch
import Logging
import CrucibleSecurity
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import NIOTLS

/// One client connection. Kafka answers requests on a connection in the order they arrived, so requests are
/// handled one at a time: the next starts when the previous one's response is ready (as Kafka mutes a channel
/// with a request in flight). A request that cannot be parsed closes this connection and nothing else.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = IOData

    private let router: RequestRouter
    private let logger: Logger
    /// Frames waiting their turn, with when each arrived (RequestMetrics' request queue time).
    private var queue = CircularBuffer<(frame: ByteBuffer, arrivedNanos: UInt64)>()
    private var busy = false
    private var closed = false
    private var peer = "?"
    private var clientHost = ""
    private let listenerName: String
    /// Set on SASL listeners: nothing but the handshake passes until the client has authenticated.
    private let sasl: SaslGate?
    /// The principal of a TLS client certificate (`User:CN=...`), when the listener asked for one.
    var certificatePrincipal: String?

    private let authorize: Bool
    private let principalMapper: SslPrincipalMapper
    private let metrics: BrokerMetrics?

    init(router: RequestRouter, logger: Logger, listenerName: String = "PLAINTEXT", sasl: SaslGate? = nil,
         authorize: Bool = true, principalMapper: SslPrincipalMapper = .default, metrics: BrokerMetrics? = nil) {
        self.metrics = metrics
        self.authorize = authorize
        self.principalMapper = principalMapper
        self.router = router
        self.logger = logger
        self.listenerName = listenerName
        self.sasl = sasl
    }

    /// Who is asking, for authorization: the SASL user, else the certificate's subject, else ANONYMOUS.
    private var principal: String { sasl?.principal ?? certificatePrincipal ?? "User:ANONYMOUS" }

    func channelActive(context: ChannelHandlerContext) {
        peer = context.remoteAddress?.description ?? "?"
        clientHost = "/" + (context.remoteAddress?.ipAddress ?? "")
        context.fireChannelActive()
    }

    /// Once TLS is up, a client certificate names the connection's principal (SASL, when it comes, overrides).
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls,
           let certificate = try? context.pipeline.syncOperations.nioSSL_peerCertificate(),
           let der = try? certificate.toDERBytes() {
            certificatePrincipal = CertificatePrincipal.principal(fromDER: der, mapper: principalMapper)
            // As Kafka: a certificate whose subject no ssl.principal.mapping.rules rule matches cannot authenticate.
            if certificatePrincipal == nil {
                logger.info("closing connection from \(peer): no ssl.principal.mapping.rules rule applies to its certificate")
                closed = true
                context.close(promise: nil)
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        queue.removeAll()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        queue.append((unwrapInboundIn(data), DispatchTime.now().uptimeNanoseconds))
        if !busy { processNext(context: context) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.info("closing connection from \(peer): \(error)")
        closed = true
        context.close(promise: nil)
    }

    private func processNext(context: ChannelHandlerContext) {
        while !closed, !queue.isEmpty {
            var (frame, arrivedNanos) = queue.removeFirst()
            let startedNanos = DispatchTime.now().uptimeNanoseconds
            if let sasl, sasl.expectsRawToken {
                let (answer, close) = sasl.rawToken(frame, nowMs: Clock.nowMs())
                if let answer { context.write(wrapOutboundOut(.byteBuffer(answer)), promise: nil) }
                if close || answer == nil { return closeAfterFlush(context: context, reason: "SASL authentication failed") }
                continue
            }
            let header: RequestHeader
            do {
                header = try RequestHeader.decode(from: &frame)
            } catch {
                return errorCaught(context: context, error: error)
            }
            if let sasl {
                do {
                    switch try sasl.admit(header, body: frame, nowMs: Clock.nowMs()) {
                    case .pass: break
                    case .reply(let response, let close):
                        write(response, context: context)
                        if close { return closeAfterFlush(context: context, reason: "SASL authentication did not succeed") }
                        continue
                    case .reject(let reason):
                        return errorCaught(context: context, error: UnsupportedRequest(description: reason))
                    }
                } catch {
                    return errorCaught(context: context, error: RequestFailure(header: header, error: error))
                }
            }
            let pending: RequestRouter.Outcome
            // Only Fetch names itself (FetchConsumer or FetchFollower), so only Fetch gets a place to do so.
            let metricsName = metrics != nil && header.apiKey == .fetch ? NIOLockedValueBox<String?>(nil) : nil
            do {
                pending = try router.route(header: header, body: frame, eventLoop: context.eventLoop,
                                           connectionClosed: context.channel.closeFuture, clientHost: clientHost,
                                           listenerName: listenerName, principal: principal, authorize: authorize,
                                           metricsName: metricsName)
            } catch {
                return errorCaught(context: context, error: RequestFailure(header: header, error: error))
            }
            let localNanos = DispatchTime.now().uptimeNanoseconds
            // Where the time went, once the response is on the wire (Kafka's RequestMetrics).
            let timing = metrics.flatMap { metrics in header.apiKey.map { api in
                { (remoteNanos: UInt64) -> EventLoopPromise<Void> in
                    let sent = context.eventLoop.makePromise(of: Void.self)
                    let writing = DispatchTime.now().uptimeNanoseconds
                    sent.futureResult.whenComplete { _ in
                        let ms = { (nanos: UInt64) in Double(nanos) / 1_000_000 }
                        metrics.request(api, version: header.requestApiVersion, name: metricsName?.withLockedValue { $0 }, BrokerMetrics.RequestTimes(
                            requestQueue: ms(startedNanos &- arrivedNanos), local: ms(localNanos &- startedNanos),
                            remote: ms(remoteNanos), responseSend: ms(DispatchTime.now().uptimeNanoseconds &- writing)))
                    }
                    return sent
                }
            } }
            switch pending {
            case .immediate(let response):
                write(response, context: context, sent: timing?(0))
            case .later(let future):
                busy = true
                future.hop(to: context.eventLoop).whenComplete { result in
                    self.busy = false
                    guard !self.closed else {
                        // The client went away while we waited (a long-poll fetch): release its files.
                        if case .success(let response) = result { response?.closeFiles() }
                        return
                    }
                    switch result {
                    case .success(let response):
                        self.write(response, context: context, sent: timing?(DispatchTime.now().uptimeNanoseconds &- localNanos))
                        // Requests that queued up behind this one are answered now, outside any read event,
                        // so nothing else would flush them.
                        self.processNext(context: context)
                        context.flush()
                    case .failure(let error):
                        self.errorCaught(context: context, error: RequestFailure(header: header, error: error))
                    }
                }
                return
            }
        }
    }

    /// Sends what is written so far, then closes (an authentication failure is answered before the close).
    private func closeAfterFlush(context: ChannelHandlerContext, reason: String) {
        logger.info("closing connection from \(peer): \(reason)")
        closed = true
        queue.removeAll()
        // Writes complete in order: once this empty one has, the answer before it is on its way.
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(ByteBuffer())), promise: written)
        written.futureResult.whenComplete { _ in context.close(promise: nil) }
    }

    /// `sent` completes when the response's last byte has been written (or at once when there is none).
    private func write(_ response: ResponseFrame?, context: ChannelHandlerContext, sent: EventLoopPromise<Void>? = nil) {
        guard let response, let last = response.parts.last else { sent?.succeed(); return }  // acks=0: no response at all
        for part in response.parts.dropLast() { context.write(wrapOutboundOut(part), promise: nil) }
        if response.fileHandles.isEmpty {
            context.write(wrapOutboundOut(last), promise: sent)
        } else {
            // The kernel reads the files while the write is in progress: close them only after it ends.
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { result in
                response.closeFiles()
                sent?.completeWith(result)
            }
            context.write(wrapOutboundOut(last), promise: written)
        }
    }
}

struct RequestFailure: Error, CustomStringConvertible {
    let header: RequestHeader
    let error: Error
    var description: String {
        "api key \(header.requestApiKey) v\(header.requestApiVersion) (correlation id \(header.correlationId)): \(error)"
    }
}
