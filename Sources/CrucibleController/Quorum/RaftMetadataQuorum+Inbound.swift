import CrucibleProtocol
import CrucibleRaft
import NIOCore

struct InboundKey: Hashable {
    var source: RaftNodeID
    var correlationID: Int32
}

/// An incoming request handed to the core, waiting for the response the core will send for it.
struct InboundRequest {
    var request: RaftMessageBody
    var complete: (RaftMessageBody) -> Void
    var deadline: Scheduled<Void>
}

/// Not a request this quorum can take (wrong cluster, not the metadata partition, no replica id).
public struct QuorumRequestError: Error, CustomStringConvertible {
    public let description: String
}

/// Incoming quorum RPCs, from the controller listener. Each is handed to the core under a correlation id of
/// the quorum's own choosing (network correlation ids are per connection and could collide), and answered when
/// the core sends its response, or with an error when none comes in time (a parked Fetch the core replaced).
extension RaftMetadataQuorum {
    public func handle(_ request: CrucibleProtocol.VoteRequest) -> EventLoopFuture<CrucibleProtocol.VoteResponse> {
        submit(RaftWire.message(request), clusterId: request.clusterId) { body in
            guard case .voteResponse(let response) = body else { return nil }
            return RaftWire.response(response)
        }
    }

    public func handle(_ request: CrucibleProtocol.BeginQuorumEpochRequest)
        -> EventLoopFuture<CrucibleProtocol.BeginQuorumEpochResponse> {
        submit(RaftWire.message(request), clusterId: request.clusterId) { body in
            guard case .beginQuorumEpochResponse(let response) = body else { return nil }
            return RaftWire.response(response)
        }
    }

    public func handle(_ request: CrucibleProtocol.EndQuorumEpochRequest)
        -> EventLoopFuture<CrucibleProtocol.EndQuorumEpochResponse> {
        submit(RaftWire.message(request), clusterId: request.clusterId) { body in
            guard case .endQuorumEpochResponse(let response) = body else { return nil }
            return RaftWire.response(response)
        }
    }

    public func handle(_ request: CrucibleProtocol.FetchRequest) -> EventLoopFuture<CrucibleProtocol.FetchResponse> {
        submit(RaftWire.message(request), clusterId: nil) { [self] body in
            guard case .fetchResponse(let response) = body else { return nil }
            // Runs while the core's response is carried out, when the store numbers exactly these entries.
            var batches = ByteBuffer()
            for entry in response.entries {
                guard var batch = try? MetadataEntryCodec.batch(for: entry, recordBase: store.recordOffset(ofEntry: entry.offset))
                else { break }
                batches.writeBuffer(&batch)
            }
            return RaftWire.response(response, batches: batches)
        }
    }

    public func handle(_ request: CrucibleProtocol.FetchSnapshotRequest)
        -> EventLoopFuture<CrucibleProtocol.FetchSnapshotResponse> {
        submit(RaftWire.message(request), clusterId: request.clusterId) { body in
            guard case .fetchSnapshotResponse(let response) = body else { return nil }
            return RaftWire.response(response)
        }
    }

    private func submit<Response>(_ parsed: (RaftNodeID, RaftMessageBody)?, clusterId: String?,
                                  convert: @escaping (RaftMessageBody) -> Response?) -> EventLoopFuture<Response> {
        guard let (source, body) = parsed else {
            return eventLoop.makeFailedFuture(QuorumRequestError(description: "not a request for the metadata partition"))
        }
        if let clusterId, !clusterId.isEmpty, clusterId != settings.clusterId {
            return eventLoop.makeFailedFuture(QuorumRequestError(
                description: "request from node \(source) of cluster \(clusterId), this is \(settings.clusterId)"))
        }
        return eventLoop.flatSubmit { [self] in
            let promise = eventLoop.makePromise(of: Response.self)
            guard !stopped, let node else {
                promise.fail(QuorumRequestError(description: "the metadata quorum is not running"))
                return promise.futureResult
            }
            nextInboundCorrelationID = nextInboundCorrelationID == .max ? 0 : nextInboundCorrelationID + 1
            let key = InboundKey(source: source, correlationID: nextInboundCorrelationID)
            let waitMs = config.fetchMaxWaitMs + config.requestTimeoutMs
            let deadline = eventLoop.scheduleTask(in: .milliseconds(waitMs)) { [self] in
                answerWithError(key, code: .brokerNotAvailable)
            }
            inbound[key] = InboundRequest(request: body, complete: { answer in
                if let response = convert(answer) {
                    promise.succeed(response)
                } else {
                    promise.fail(QuorumRequestError(description: "the core answered with a different message"))
                }
            }, deadline: deadline)
            run(node.receive(RaftMessage(source: source, destination: nodeId, correlationID: key.correlationID,
                                         body: body), nowMs: Self.nowMs()))
            return promise.futureResult
        }
    }

    /// The core's response to an incoming request.
    func answer(_ message: RaftMessage) {
        let key = InboundKey(source: message.destination, correlationID: message.correlationID)
        guard let waiting = inbound.removeValue(forKey: key) else { return }
        waiting.deadline.cancel()
        waiting.complete(message.body)
    }

    func answerWithError(_ key: InboundKey, code: RaftErrorCode) {
        guard let waiting = inbound.removeValue(forKey: key) else { return }
        waiting.deadline.cancel()
        let current = LeaderAndEpoch(leaderID: node?.leaderID, epoch: node?.epoch ?? 0)
        waiting.complete(Self.errorResponse(to: waiting.request, code: code, current: current))
    }

    static func errorResponse(to request: RaftMessageBody, code: RaftErrorCode, current: LeaderAndEpoch) -> RaftMessageBody {
        switch request {
        case .voteRequest:
            return .voteResponse(CrucibleRaft.VoteResponse(errorCode: code, current: current, voteGranted: false))
        case .beginQuorumEpochRequest:
            return .beginQuorumEpochResponse(QuorumEpochResponse(errorCode: code, current: current))
        case .endQuorumEpochRequest:
            return .endQuorumEpochResponse(QuorumEpochResponse(errorCode: code, current: current))
        case .fetchSnapshotRequest(let fetch):
            return .fetchSnapshotResponse(CrucibleRaft.FetchSnapshotResponse(
                errorCode: code, current: current, snapshotID: fetch.snapshotID, size: 0, position: fetch.position,
                bytes: []))
        default:
            return .fetchResponse(CrucibleRaft.FetchResponse(
                errorCode: code, current: current, highWatermark: -1, logStartOffset: -1, divergingEpoch: nil,
                snapshotID: nil, entries: []))
        }
    }
}
