import NIOCore

// STRING / NULLABLE_STRING / COMPACT_STRING / COMPACT_NULLABLE_STRING. `compact: true` selects the flexible-version
// encoding (uvarint N+1 prefix) instead of the classic INT16 prefix.
extension ByteBuffer {
    @inlinable
    public mutating func readKafkaNullableString(compact: Bool) throws -> String? {
        guard let length = try readKafkaLength(.forStrings(compact: compact), "string") else { return nil }
        if length > Int(Int16.max) {
            throw KafkaProtocolError.badLength("string", length: length, available: self.readableBytes)
        }
        return self.readString(length: length)!  // the length was checked against readableBytes
    }

    @inlinable
    public mutating func readKafkaString(compact: Bool) throws -> String {
        guard let value = try readKafkaNullableString(compact: compact) else {
            throw KafkaProtocolError.unexpectedNull("string")
        }
        return value
    }

    @inlinable
    public mutating func writeKafkaString(_ value: String, compact: Bool) {
        writeKafkaLength(value.utf8.count, .forStrings(compact: compact))
        writeString(value)
    }

    @inlinable
    public mutating func writeKafkaNullableString(_ value: String?, compact: Bool) {
        guard let value else { return writeKafkaLength(nil, .forStrings(compact: compact)) }
        writeKafkaString(value, compact: compact)
    }
}
