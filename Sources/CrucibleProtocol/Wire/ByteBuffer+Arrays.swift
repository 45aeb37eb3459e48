import NIOCore

// ARRAY / COMPACT_ARRAY. The element reader is a closure so one helper serves primitive and struct elements.
extension ByteBuffer {
    @inlinable
    public mutating func readKafkaNullableArray<Element>(
        compact: Bool, _ readElement: (inout ByteBuffer) throws -> Element
    ) throws -> [Element]? {
        guard let count = try readKafkaLength(.forBytesAndArrays(compact: compact), "array") else { return nil }
        var elements = [Element]()
        elements.reserveCapacity(count)  // bounded by readableBytes, see readKafkaLength
        for _ in 0..<count {
            elements.append(try readElement(&self))
        }
        return elements
    }

    @inlinable
    public mutating func readKafkaArray<Element>(
        compact: Bool, _ readElement: (inout ByteBuffer) throws -> Element
    ) throws -> [Element] {
        guard let elements = try readKafkaNullableArray(compact: compact, readElement) else {
            throw KafkaProtocolError.unexpectedNull("array")
        }
        return elements
    }
}

// Tagged fields (flexible versions): [uvarint count] then per field [uvarint tag][uvarint size][size bytes].
extension ByteBuffer {
    /// Reads the header of one tagged field and returns its tag and its bytes as a slice, so a field's decoder
    /// cannot read past it and unknown tags are skipped by ignoring the slice.
    @inlinable
    public mutating func readKafkaTaggedField() throws -> (tag: UInt32, data: ByteBuffer) {
        let tag = try readUnsignedVarint()
        let size = Int(try readUnsignedVarint())
        guard size <= self.readableBytes, let data = self.readSlice(length: size) else {
            throw KafkaProtocolError.badLength("tagged field", length: size, available: self.readableBytes)
        }
        return (tag, data)
    }
}

extension ByteBuffer {
    /// Skips a tagged-field section of a structure that defines no tagged fields.
    @inlinable
    public mutating func skipKafkaTaggedFields() throws {
        for _ in 0..<(try readUnsignedVarint()) {
            _ = try readKafkaTaggedField()
        }
    }

    /// A nullable struct field: INT8 -1 for null, 1 followed by the struct when present.
    @inlinable
    public mutating func readKafkaNullableStruct<Value>(_ readValue: (inout ByteBuffer) throws -> Value) throws -> Value? {
        try readKafkaInt8() < 0 ? nil : try readValue(&self)
    }
}
