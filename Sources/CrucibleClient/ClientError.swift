import CrucibleProtocol

/// What a client call can fail with. Kafka errors keep the broker's error code so callers can print Kafka's name
/// for it (`TOPIC_ALREADY_EXISTS`) and decide what is worth a retry.
public enum KafkaClientError: Error, CustomStringConvertible, Equatable {
    /// The broker answered with an error code (and sometimes a message).
    case kafka(ErrorCode, message: String?)
    /// No answer within the deadline.
    case timedOut(String)
    /// Could not connect, or the connection closed with requests outstanding.
    case connection(String)
    /// The broker does not serve a version of this API that this client can speak.
    case unsupportedApi(ApiKey)
    /// A response that does not decode, or names things that were not asked about.
    case malformedResponse(String)
    /// SASL authentication was refused (wrong password, unknown user, mechanism not enabled).
    case authentication(String)

    public var description: String {
        switch self {
        case .kafka(let code, let message):
            guard let message, !message.isEmpty else { return code.name }
            return "\(code.name): \(message)"
        case .timedOut(let what): return "timed out: \(what)"
        case .connection(let why): return "connection failed: \(why)"
        case .unsupportedApi(let api): return "the broker does not serve a usable version of \(api)"
        case .malformedResponse(let why): return "malformed response: \(why)"
        case .authentication(let why): return "authentication failed: \(why)"
        }
    }

    /// The Kafka error code, when the broker sent one.
    public var errorCode: ErrorCode? {
        if case .kafka(let code, _) = self { return code }
        return nil
    }
}

extension ErrorCode {
    /// Errors after which fresh metadata and another attempt may succeed: the request was not applied.
    public var isStaleMetadata: Bool {
        [.notLeaderOrFollower, .leaderNotAvailable, .unknownTopicOrPartition, .fencedLeaderEpoch,
         .unknownLeaderEpoch, .notController, .brokerNotAvailable, .replicaNotAvailable].contains(self)
    }

    /// Throws this code as a client error unless it is `NONE`.
    public func check(_ message: String? = nil) throws {
        if self != .none { throw KafkaClientError.kafka(self, message: message) }
    }
}
