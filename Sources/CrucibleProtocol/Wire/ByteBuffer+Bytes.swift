import NIOCore

// BYTES / NULLABLE_BYTES / COMPACT_BYTES / COMPACT_NULLABLE_BYTES, and UUID. Byte fields are returned as slices
// of the input buffer (no copy).
extension ByteBuffer {
    @inlinable
    public mutating func readKafkaNullableBytes(compact: Bool) throws -> ByteBuffer? {
        guard let length = try readKafkaLength(.forBytesAndArrays(compact: compact), "bytes") else { return nil }
        return self.readSlice(length: length)!  // the length was checked against readableBytes
    }

    @inlinable
    public mutating func readKafkaBytes(compact: Bool) throws -> ByteBuffer {
        guard let value = try readKafkaNullableBytes(compact: compact) else {
            throw KafkaProtocolError.unexpectedNull("bytes")
        }
        return value
    }

    @inlinable
    public mutating func writeKafkaBytes(_ value: ByteBuffer, compact: Bool) {
        writeKafkaLength(value.readableBytes, .forBytesAndArrays(compact: compact))
        writeImmutableBuffer(value)
    }

    @inlinable
    public mutating func writeKafkaNullableBytes(_ value: ByteBuffer?, compact: Bool) {
        guard let value else { return writeKafkaLength(nil, .forBytesAndArrays(compact: compact)) }
        writeKafkaBytes(value, compact: compact)
    }

    @inlinable
    public mutating func readKafkaUUID() throws -> KafkaUUID {
        guard self.readableBytes >= 16 else {
            throw KafkaProtocolError.truncated("uuid", needed: 16, available: self.readableBytes)
        }
        return KafkaUUID(high: self.readInteger()!, low: self.readInteger()!)
    }

    @inlinable
    public mutating func writeKafkaUUID(_ value: KafkaUUID) {
        writeInteger(value.high)
        writeInteger(value.low)
    }
}
