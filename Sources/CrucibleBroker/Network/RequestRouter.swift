import CrucibleProtocol
import NIOConcurrencyHelpers
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
    /// Completes when the client's connection closes (the controller notices a broker that died).
    var connectionClosed: EventLoopFuture<Void>?
    /// The client's address as Kafka prints it ("/127.0.0.1"), for group members.
    var clientHost = ""
    /// The listener the request came in on: Metadata and FindCoordinator answer with that listener's addresses.
    var listenerName = "PLAINTEXT"
    /// Who is asking (`User:alice`, `User:ANONYMOUS`), for authorization.
    var principal = "User:ANONYMOUS"
    /// False on the controller listener: what arrives there was checked against the client's principal by the
    /// node that forwarded it (Kafka's controllers trust their listener's peers the same way).
    var authorize = true
    /// Where a handler names its request for RequestMetrics when the API alone does not (Kafka splits Fetch into
    /// FetchConsumer and FetchFollower); nil when nobody measures.
    var metricsName: NIOLockedValueBox<String?>? = nil
    var version: Int16 { header.requestApiVersion }
    var nowMs: Int64 { Clock.nowMs() }
}

struct UnsupportedRequest: Error, CustomStringConvertible {
    let description: String
}

/// The APIs one listener serves: the versions ApiVersions advertises and a handler for each. The client
/// listener and the controller listener each have their own table.
/// Built once at start and only read afterwards, so it may cross threads.
struct ApiTable: @unchecked Sendable {
    typealias Route = (ByteBuffer, RequestContext) throws -> RequestRouter.Outcome
    private(set) var versions: [ApiKey: ClosedRange<Int16>] = [:]
    private var routes: [ApiKey: Route] = [:]
    /// Each API's typed handler, `(Request, RequestContext) throws -> Reply<Request.Response>`, for `filtering`.
    private var handlers: [ApiKey: Any] = [:]

    /// ApiVersions is served by every table; the router answers it from the table itself.
    static let apiVersionsRange: ClosedRange<Int16> = 0...4

    init() {
        versions[.apiVersions] = Self.apiVersionsRange
    }

    mutating func serve<Request: KafkaRequest>(_ type: Request.Type, versions range: ClosedRange<Int16>,
                                               _ handler: @escaping (Request, RequestContext) throws -> Reply<Request.Response>) {
        precondition(Request.validVersions.contains(range.lowerBound) && Request.validVersions.contains(range.upperBound))
        versions[Request.apiKey] = range
        handlers[Request.apiKey] = handler
        routes[Request.apiKey] = { body, context in
            var body = body
            let request = try Request(from: &body, version: context.version)
            switch try handler(request, context) {
            case .immediate(let output):
                return .immediate(RequestRouter.encode(output, context: context, version: context.version))
            case .later(let future):
                return .later(future.map { RequestRouter.encode($0, context: context, version: context.version) })
            }
        }
    }

    func apiVersions(error: ErrorCode) -> ApiVersionsResponse {
        var response = ApiVersionsResponse()
        response.errorCode = error.rawValue
        response.apiKeys = versions.sorted { $0.key.rawValue < $1.key.rawValue }.map { key, range in
            var api = ApiVersionsResponse.ApiVersion()
            api.apiKey = key.rawValue
            api.minVersion = range.lowerBound
            api.maxVersion = range.upperBound
            return api
        }
        return response
    }

    func route(_ api: ApiKey) -> Route? { routes[api] }

    /// Lets a request reach its handler only when `admitted` says so for its API and context; otherwise the
    /// connection closes (the controller listener: only peers may use it).
    mutating func admitting(_ admitted: @escaping (ApiKey, RequestContext) -> Bool, refusal: String) {
        for (api, route) in routes {
            routes[api] = { body, context in
                guard admitted(api, context) else { throw UnsupportedRequest(description: "\(api) from \(context.principal): \(refusal)") }
                return try route(body, context)
            }
        }
    }

    /// Puts a check in front of an API's typed handler (and of its forwarding) that may take entries out of a
    /// request: the handler sees the request `split` leaves (not called when it leaves nothing), and `split`'s
    /// `merge` makes the answer from the handler's and its own (Kafka refuses the entries its principal may not
    /// touch and serves the rest). A nil `split` lets the request through unchanged.
    mutating func filtering<Request: KafkaRequest>(_ type: Request.Type,
                                                   _ split: @escaping (Request, RequestContext) -> EntryFilter<Request>?) {
        typealias Handler = (Request, RequestContext) throws -> Reply<Request.Response>
        guard let inner = handlers[Request.apiKey] as? Handler, let range = versions[Request.apiKey] else { return }
        serve(type, versions: range) { request, context in
            guard let filter = split(request, context) else { return try inner(request, context) }
            guard let served = filter.served else { return .now(filter.merge(nil)) }
            switch try inner(served, context) {
            case .immediate(let output):
                return .immediate(HandlerOutput(response: filter.merge(output.response), fileHandles: output.fileHandles))
            case .later(let future):
                return .later(future.map { HandlerOutput(response: filter.merge($0.response), fileHandles: $0.fileHandles) })
            }
        }
    }
}

/// What a check left of a request, and how the answer is made from the handler's (nil when nothing was left
/// or the handler gave none). Made and used for one request, on its connection's event loop.
struct EntryFilter<Request: KafkaRequest>: @unchecked Sendable {
    var served: Request?
    var merge: (Request.Response?) -> Request.Response
}

/// Decodes a request body by api key and version, runs its handler and encodes the reply. Unknown APIs and
/// versions outside what ApiVersions advertises are errors that close the connection (Kafka does the same),
/// except ApiVersions itself, which answers UNSUPPORTED_VERSION so the client can retry lower (KIP-511).
final class RequestRouter {
    enum Outcome {
        case immediate(ResponseFrame?)
        case later(EventLoopFuture<ResponseFrame?>)
    }

    private let table: ApiTable

    init(table: ApiTable) {
        self.table = table
    }

    func route(header: RequestHeader, body: ByteBuffer, eventLoop: EventLoop,
               connectionClosed: EventLoopFuture<Void>? = nil, clientHost: String = "",
               listenerName: String = "PLAINTEXT", principal: String = "User:ANONYMOUS",
               authorize: Bool = true, metricsName: NIOLockedValueBox<String?>? = nil) throws -> Outcome {
        guard let api = header.apiKey, let supported = table.versions[api] else {
            throw UnsupportedRequest(description: "unknown api key \(header.requestApiKey)")
        }
        let context = RequestContext(header: header, eventLoop: eventLoop, connectionClosed: connectionClosed,
                                     clientHost: clientHost, listenerName: listenerName, principal: principal,
                                     authorize: authorize, metricsName: metricsName)
        guard supported.contains(header.requestApiVersion) else {
            if api == .apiVersions {
                return .immediate(Self.encode(HandlerOutput(response: table.apiVersions(error: .unsupportedVersion)),
                                              context: context, version: 0))
            }
            throw UnsupportedRequest(description: "\(api) v\(header.requestApiVersion) is outside \(supported)")
        }
        if api == .apiVersions {
            var body = body
            _ = try ApiVersionsRequest(from: &body, version: context.version)
            return .immediate(Self.encode(HandlerOutput(response: table.apiVersions(error: .none)), context: context,
                                          version: context.version))
        }
        guard let route = table.route(api) else {
            throw UnsupportedRequest(description: "\(api) has no handler")
        }
        return try route(body, context)
    }

    static func encode<Response: KafkaResponse>(_ output: HandlerOutput<Response>, context: RequestContext,
                                                version: Int16) -> ResponseFrame? {
        guard let response = output.response else { return nil }
        return ResponseFrame(parts: response.encodeFrame(correlationId: context.header.correlationId, version: version),
                             fileHandles: output.fileHandles)
    }
}
