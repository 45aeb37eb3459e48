import CrucibleController
import CrucibleProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A minimal controller listener for the quorum tests: answers ApiVersions and hands the quorum RPCs to whichever
/// `RaftMetadataQuorum` is currently plugged in (a restarted node keeps its port). The broker's own listener does
/// the same through its `ApiTable`; this one exists so the controller module is tested on its own.
final class QuorumTestServer: @unchecked Sendable {
    let channel: Channel
    let quorum = NIOLockedValueBox<RaftMetadataQuorum?>(nil)
    var port: Int { channel.localAddress!.port! }

    init(group: EventLoopGroup) throws {
        let box = quorum
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FrameDecoder()), QuorumRequestHandler(quorum: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    func close() {
        try? channel.close().wait()
    }
}

private struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self),
              buffer.readableBytes >= 4 + Int(size) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(size))!))
        return .continue
    }
}

private final class QuorumRequestHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let quorum: NIOLockedValueBox<RaftMetadataQuorum?>

    init(quorum: NIOLockedValueBox<RaftMetadataQuorum?>) { self.quorum = quorum }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        let channel = context.channel
        do {
            let header = try RequestHeader.decode(from: &frame)
            let version = header.requestApiVersion
            let correlation = header.correlationId
            func reply<Response: KafkaResponse>(_ future: EventLoopFuture<Response>) {
                future.whenSuccess { response in
                    for part in response.encodeFrame(correlationId: correlation, version: version) {
                        if case .byteBuffer(let buffer) = part { channel.write(buffer, promise: nil) }
                    }
                    channel.flush()
                }
                future.whenFailure { _ in channel.close(promise: nil) }
            }
            guard let quorum = quorum.withLockedValue({ $0 }) else {
                if header.apiKey == .apiVersions { reply(context.eventLoop.makeSucceededFuture(Self.versions())) }
                else { channel.close(promise: nil) }
                return
            }
            switch header.apiKey {
            case .apiVersions: reply(context.eventLoop.makeSucceededFuture(Self.versions()))
            case .vote: reply(quorum.handle(try VoteRequest(from: &frame, version: version)))
            case .beginQuorumEpoch: reply(quorum.handle(try BeginQuorumEpochRequest(from: &frame, version: version)))
            case .endQuorumEpoch: reply(quorum.handle(try EndQuorumEpochRequest(from: &frame, version: version)))
            case .fetch: reply(quorum.handle(try FetchRequest(from: &frame, version: version)))
            case .fetchSnapshot: reply(quorum.handle(try FetchSnapshotRequest(from: &frame, version: version)))
            default: channel.close(promise: nil)
            }
        } catch {
            channel.close(promise: nil)
        }
    }

    static func versions() -> ApiVersionsResponse {
        var response = ApiVersionsResponse()
        let ranges: [(ApiKey, ClosedRange<Int16>)] = [
            (.apiVersions, 0...3), (.vote, 0...1), (.beginQuorumEpoch, 0...1), (.endQuorumEpoch, 0...1),
            (.fetch, 12...16), (.fetchSnapshot, 0...1),
        ]
        response.apiKeys = ranges.map { key, range in
            var api = ApiVersionsResponse.ApiVersion()
            api.apiKey = key.rawValue
            api.minVersion = range.lowerBound
            api.maxVersion = range.upperBound
            return api
        }
        return response
    }
}
