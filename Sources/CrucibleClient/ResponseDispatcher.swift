import NIOCore

/// Splits the byte stream from a broker into size-delimited response frames.
struct ResponseFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    /// Far above any response the tools ask for; a larger size means the stream is out of step.
    static let maxFrameBytes = 512 << 20

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return .needMoreData }
        guard size >= 4, Int(size) <= Self.maxFrameBytes else {
            throw KafkaClientError.malformedResponse("response frame of \(size) bytes")
        }
        guard buffer.readableBytes >= 4 + Int(size) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(size))!))
        return .continue
    }
}

/// The answer to one request. It may be completed from the dispatcher (response, deadline, closed connection)
/// or from a failed write that never reached the dispatcher; all of them run on the channel's event loop, and
/// only the first counts.
final class ResponseSlot: @unchecked Sendable {
    let promise: EventLoopPromise<ByteBuffer>
    private var completed = false

    init(eventLoop: EventLoop) {
        promise = eventLoop.makePromise()
    }

    func succeed(_ frame: ByteBuffer) {
        promise.futureResult.eventLoop.preconditionInEventLoop()
        guard !completed else { return }
        completed = true
        promise.succeed(frame)
    }

    func fail(_ error: Error) {
        promise.futureResult.eventLoop.preconditionInEventLoop()
        guard !completed else { return }
        completed = true
        promise.fail(error)
    }
}

/// One request on its way out. The correlation id is chosen on the event loop, so `encode` builds the frame then.
struct OutgoingRequest: Sendable {
    let encode: @Sendable (_ correlationId: Int32) -> [IOData]
    /// Nil for a request the broker does not answer (Produce with acks=0).
    let response: ResponseSlot?
    let timeout: TimeAmount
    let describe: String
}

/// Matches response frames to requests by correlation id and fails requests that outlive their deadline or the
/// connection. All state lives on the channel's event loop, so a promise is completed exactly once.
final class ResponseDispatcher: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = OutgoingRequest
    typealias OutboundOut = IOData

    private struct Pending {
        let slot: ResponseSlot
        let deadline: Scheduled<Void>
    }

    private var nextCorrelationId: Int32 = 1
    private var pending: [Int32: Pending] = [:]
    private var closedReason: String?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let closedReason {
            request.response?.fail(KafkaClientError.connection(closedReason))
            promise?.fail(KafkaClientError.connection(closedReason))
            return
        }
        let correlationId = nextCorrelationId
        nextCorrelationId = nextCorrelationId == Int32.max ? 1 : nextCorrelationId + 1
        if let response = request.response {
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let deadline = context.eventLoop.scheduleTask(in: request.timeout) {
                loopBound.value.expire(correlationId, what: request.describe)
            }
            pending[correlationId] = Pending(slot: response, deadline: deadline)
        }
        let parts = request.encode(correlationId)
        for part in parts.dropLast() { context.write(wrapOutboundOut(part), promise: nil) }
        context.write(wrapOutboundOut(parts.last!), promise: promise)
    }

    private func expire(_ correlationId: Int32, what: String) {
        pending.removeValue(forKey: correlationId)?.slot.fail(KafkaClientError.timedOut(what))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // A late answer to a request that already timed out has nobody waiting for it: drop it.
        guard let correlationId = frame.getInteger(at: frame.readerIndex, as: Int32.self),
              let waiting = pending.removeValue(forKey: correlationId) else { return }
        waiting.deadline.cancel()
        waiting.slot.succeed(frame)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll("the broker closed the connection")
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll("the connection is closed")
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        failAll("\(error)")
        context.close(promise: nil)
    }

    private func failAll(_ reason: String) {
        closedReason = closedReason ?? reason
        let waiting = pending
        pending = [:]
        for (_, request) in waiting {
            request.deadline.cancel()
            request.slot.fail(KafkaClientError.connection(reason))
        }
    }
}
