#if canImport(Glibc)
import Glibc
#endif
import CrucibleProtocol
import NIOCore

/// What one API handler produced: a response (nil for acks=0 produce, which gets none), and any files its
/// records are read from.
struct HandlerOutput<Response: KafkaResponse> {
    var response: Response?
    var fileHandles: [NIOFileHandle] = []
}

enum Reply<Response: KafkaResponse> {
    case immediate(HandlerOutput<Response>)
    case later(EventLoopFuture<HandlerOutput<Response>>)

    static func now(_ response: Response) -> Reply { .immediate(HandlerOutput(response: response)) }
}

/// What the connection needs to know about the request being answered.
struct RequestContext {
    let header: RequestHeader
    let eventLoop: EventLoop
    var version: Int16 { header.requestApiVersion }
    var nowMs: Int64 { Clock.nowMs() }
}

struct UnsupportedRequest: Error, CustomStringConvertible {
    let description: String
}

/// Decodes a request body by api key and version, runs its handler and encodes the reply. Unknown APIs and
/// versions outside what ApiVersions advertises are errors that close the connection (Kafka does the same),
/// except ApiVersions itself, which answers UNSUPPORTED_VERSION so the client can retry lower (KIP-511).
final class RequestRouter {
    enum Outcome {
        case immediate(ResponseFrame?)
        case later(EventLoopFuture<ResponseFrame?>)
    }

    private let apis: BrokerApis

    init(apis: BrokerApis) {
        self.apis = apis
    }

    func route(header: RequestHeader, body: ByteBuffer, eventLoop: EventLoop) throws -> Outcome {
        guard let api = header.apiKey, let supported = SupportedApis.versions[api] else {
            throw UnsupportedRequest(description: "unknown api key \(header.requestApiKey)")
        }
        let context = RequestContext(header: header, eventLoop: eventLoop)
        guard supported.contains(header.requestApiVersion) else {
            if api == .apiVersions {
                return .immediate(encode(HandlerOutput(response: apis.apiVersions(error: .unsupportedVersion)),
                                         header: header, version: 0))
            }
            throw UnsupportedRequest(description: "\(api) v\(header.requestApiVersion) is outside \(supported)")
        }
        switch api {
        case .apiVersions: return try run(ApiVersionsRequest.self, body, context) { _, _ in .now(self.apis.apiVersions(error: .none)) }
        case .metadata: return try run(MetadataRequest.self, body, context, apis.metadata)
        case .produce: return try run(ProduceRequest.self, body, context, apis.produce)
        case .fetch: return try run(FetchRequest.self, body, context, apis.fetch)
        case .listOffsets: return try run(ListOffsetsRequest.self, body, context, apis.listOffsets)
        case .createTopics: return try run(CreateTopicsRequest.self, body, context, apis.createTopics)
        case .deleteTopics: return try run(DeleteTopicsRequest.self, body, context, apis.deleteTopics)
        case .describeConfigs: return try run(DescribeConfigsRequest.self, body, context, apis.describeConfigs)
        case .alterConfigs: return try run(AlterConfigsRequest.self, body, context, apis.alterConfigs)
        case .incrementalAlterConfigs:
            return try run(IncrementalAlterConfigsRequest.self, body, context, apis.incrementalAlterConfigs)
        case .initProducerId: return try run(InitProducerIdRequest.self, body, context, apis.initProducerId)
        case .findCoordinator: return try run(FindCoordinatorRequest.self, body, context, apis.findCoordinator)
        default: throw UnsupportedRequest(description: "\(api) is not served")
        }
    }

    private func run<Request: KafkaRequest>(
        _ type: Request.Type, _ body: ByteBuffer, _ context: RequestContext,
        _ handler: (Request, RequestContext) throws -> Reply<Request.Response>
    ) throws -> Outcome {
        var body = body
        let request = try Request(from: &body, version: context.version)
        let header = context.header
        switch try handler(request, context) {
        case .immediate(let output):
            return .immediate(encode(output, header: header, version: context.version))
        case .later(let future):
            return .later(future.map { self.encode($0, header: header, version: context.version) })
        }
    }

    private func encode<Response: KafkaResponse>(_ output: HandlerOutput<Response>, header: RequestHeader,
                                                 version: Int16) -> ResponseFrame? {
        guard let response = output.response else { return nil }
        return ResponseFrame(parts: response.encodeFrame(correlationId: header.correlationId, version: version),
                             fileHandles: output.fileHandles)
    }
}

/// The API versions this broker serves and advertises. Produce and Fetch start at 3 and 4, the first versions
/// with magic-2 record batches, which is the only format the log stores.
enum SupportedApis {
    static let versions: [ApiKey: ClosedRange<Int16>] = [
        .produce: 3...10,
        .fetch: 4...16,
        .listOffsets: 0...7,
        .metadata: 0...12,
        .apiVersions: 0...4,
        .createTopics: 0...7,
        .deleteTopics: 0...6,
        .describeConfigs: 0...4,
        .alterConfigs: 0...2,
        .incrementalAlterConfigs: 0...1,
        .initProducerId: 0...5,
        .findCoordinator: 0...4,
    ]
}

enum Clock {
    /// Wall-clock milliseconds (record timestamps, retention, segment age).
    static func nowMs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
