/// Thrown when bytes on the wire do not form a valid Kafka protocol value: the input ended early, a length was
/// negative or larger than what is left, or a value was out of range. The message says what was expected.
public struct KafkaProtocolError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { "KafkaProtocolError: \(message)" }

    @usableFromInline
    static func truncated(_ what: StaticString, needed: Int, available: Int) -> KafkaProtocolError {
        KafkaProtocolError("truncated input: expected \(what) of \(needed) bytes, only \(available) left")
    }

    @usableFromInline
    static func badLength(_ what: StaticString, length: Int, available: Int) -> KafkaProtocolError {
        KafkaProtocolError("invalid length \(length) for \(what) (\(available) bytes left)")
    }

    @usableFromInline
    static func unexpectedNull(_ what: StaticString) -> KafkaProtocolError {
        KafkaProtocolError("non-nullable \(what) was serialized as null")
    }
}
