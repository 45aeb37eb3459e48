import NIOCore

// Fixed-width big-endian readers. NIO's `readInteger` returns nil on truncation; these throw instead so that
// generated decoders can use plain `try`.
extension ByteBuffer {
    @inlinable
    mutating func readKafkaFixed<T: FixedWidthInteger>(_ what: StaticString, as: T.Type = T.self) throws -> T {
        guard let value = self.readInteger(as: T.self) else {
            throw KafkaProtocolError.truncated(what, needed: MemoryLayout<T>.size, available: self.readableBytes)
        }
        return value
    }

    @inlinable public mutating func readKafkaInt8() throws -> Int8 { try readKafkaFixed("int8") }
    @inlinable public mutating func readKafkaInt16() throws -> Int16 { try readKafkaFixed("int16") }
    @inlinable public mutating func readKafkaInt32() throws -> Int32 { try readKafkaFixed("int32") }
    @inlinable public mutating func readKafkaInt64() throws -> Int64 { try readKafkaFixed("int64") }
    @inlinable public mutating func readKafkaUInt16() throws -> UInt16 { try readKafkaFixed("uint16") }
    @inlinable public mutating func readKafkaUInt32() throws -> UInt32 { try readKafkaFixed("uint32") }

    @inlinable
    public mutating func readKafkaFloat64() throws -> Double {
        Double(bitPattern: try readKafkaFixed("float64", as: UInt64.self))
    }

    /// Kafka reads any non-zero byte as true.
    @inlinable
    public mutating func readKafkaBool() throws -> Bool {
        try readKafkaFixed("bool", as: UInt8.self) != 0
    }

    @inlinable public mutating func writeKafkaInt8(_ value: Int8) { writeInteger(value) }
    @inlinable public mutating func writeKafkaInt16(_ value: Int16) { writeInteger(value) }
    @inlinable public mutating func writeKafkaInt32(_ value: Int32) { writeInteger(value) }
    @inlinable public mutating func writeKafkaInt64(_ value: Int64) { writeInteger(value) }
    @inlinable public mutating func writeKafkaUInt16(_ value: UInt16) { writeInteger(value) }
    @inlinable public mutating func writeKafkaUInt32(_ value: UInt32) { writeInteger(value) }
    @inlinable public mutating func writeKafkaFloat64(_ value: Double) { writeInteger(value.bitPattern) }
    @inlinable public mutating func writeKafkaBool(_ value: Bool) { writeInteger(value ? 1 : 0 as UInt8) }
}
