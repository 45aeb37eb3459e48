import NIOCore

/// How a length (or element count) prefix is written: INT16 (classic strings), INT32 (classic bytes and arrays),
/// or compact UNSIGNED_VARINT holding N+1 (flexible versions). Null is -1 classic, 0 compact.
@usableFromInline
enum KafkaLengthPrefix {
    case int16
    case int32
    case compact

    @inlinable
    static func forStrings(compact: Bool) -> KafkaLengthPrefix { compact ? .compact : .int16 }

    @inlinable
    static func forBytesAndArrays(compact: Bool) -> KafkaLengthPrefix { compact ? .compact : .int32 }
}

extension ByteBuffer {
    /// Reads a length prefix; nil means null. Every non-null length is checked against the bytes left, so no
    /// caller allocates or loops for a length the input cannot back (an array element takes at least one byte,
    /// the same bound Kafka's own readers apply).
    @inlinable
    mutating func readKafkaLength(_ prefix: KafkaLengthPrefix, _ what: StaticString) throws -> Int? {
        let length: Int
        switch prefix {
        case .int16: length = Int(try readKafkaInt16())
        case .int32: length = Int(try readKafkaInt32())
        case .compact: length = Int(try readUnsignedVarint()) - 1
        }
        if length == -1 { return nil }
        guard length >= 0, length <= self.readableBytes else {
            throw KafkaProtocolError.badLength(what, length: length, available: self.readableBytes)
        }
        return length
    }

    @inlinable
    mutating func readKafkaNonNullLength(_ prefix: KafkaLengthPrefix, _ what: StaticString) throws -> Int {
        guard let length = try readKafkaLength(prefix, what) else { throw KafkaProtocolError.unexpectedNull(what) }
        return length
    }

    @inlinable
    mutating func writeKafkaLength(_ length: Int?, _ prefix: KafkaLengthPrefix) {
        switch prefix {
        case .int16: writeInteger(Int16(truncatingIfNeeded: length ?? -1))
        case .int32: writeInteger(Int32(truncatingIfNeeded: length ?? -1))
        case .compact: writeUnsignedVarint(UInt32(truncatingIfNeeded: (length ?? -1) + 1))
        }
    }
}
