import NIOCore

// Variable-length integers. Two families share one 7-bits-per-byte encoding:
// - UNSIGNED_VARINT (protocol: compact lengths, tags, tagged-field counts), plain unsigned;
// - zig-zag varint/varlong (record format v2: record lengths, deltas, key/value lengths), signed.
// Record parsing calls these for every field of every record, so the one-byte case is kept inline and the
// multi-byte case scans the readable bytes in place instead of reading byte by byte.
extension ByteBuffer {
    /// Decodes a little-endian base-128 value of at most `maxBytes` bytes.
    @inlinable
    mutating func readRawVarint(maxBytes: Int, _ what: StaticString) throws -> UInt64 {
        if let first = self.getInteger(at: self.readerIndex, as: UInt8.self), first & 0x80 == 0 {
            self.moveReaderIndex(forwardBy: 1)
            return UInt64(first)
        }
        let (value, length) = try self.withUnsafeReadableBytes { bytes -> (UInt64, Int) in
            var result: UInt64 = 0
            var shift: UInt64 = 0
            for index in 0..<Swift.min(bytes.count, maxBytes) {
                let byte = bytes[index]
                result |= UInt64(byte & 0x7f) &<< shift
                if byte & 0x80 == 0 { return (result, index + 1) }
                shift += 7
            }
            if bytes.count < maxBytes {
                throw KafkaProtocolError.truncated(what, needed: bytes.count + 1, available: bytes.count)
            }
            throw KafkaProtocolError("malformed \(what): more than \(maxBytes) bytes")
        }
        self.moveReaderIndex(forwardBy: length)
        return value
    }

    @inlinable
    mutating func writeRawVarint(_ value: UInt64) {
        if value < 0x80 {
            self.writeInteger(UInt8(truncatingIfNeeded: value))
            return
        }
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: 10) { bytes in
            var remaining = value
            var index = 0
            while remaining >= 0x80 {
                bytes[index] = UInt8(truncatingIfNeeded: remaining) | 0x80
                remaining >>= 7
                index += 1
            }
            bytes[index] = UInt8(truncatingIfNeeded: remaining)
            return index + 1
        }
    }

    /// Protocol UNSIGNED_VARINT: at most 5 bytes.
    @inlinable
    public mutating func readUnsignedVarint() throws -> UInt32 {
        UInt32(truncatingIfNeeded: try readRawVarint(maxBytes: 5, "unsigned varint"))
    }

    @inlinable
    public mutating func writeUnsignedVarint(_ value: UInt32) {
        writeRawVarint(UInt64(value))
    }

    /// Record-format zig-zag VARINT (32-bit).
    @inlinable
    public mutating func readVarint() throws -> Int32 {
        let raw = UInt32(truncatingIfNeeded: try readRawVarint(maxBytes: 5, "varint"))
        return Int32(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    @inlinable
    public mutating func writeVarint(_ value: Int32) {
        let zigZag = UInt32(bitPattern: (value << 1) ^ (value >> 31))
        writeRawVarint(UInt64(zigZag))
    }

    /// Record-format zig-zag VARLONG (64-bit).
    @inlinable
    public mutating func readVarlong() throws -> Int64 {
        let raw = try readRawVarint(maxBytes: 10, "varlong")
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    @inlinable
    public mutating func writeVarlong(_ value: Int64) {
        writeRawVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// The number of bytes `writeUnsignedVarint` uses for `value` (to size things before writing them).
    @inlinable
    public static func unsignedVarintSize(_ value: UInt32) -> Int {
        var size = 1
        var remaining = value >> 7
        while remaining != 0 {
            size += 1
            remaining >>= 7
        }
        return size
    }
}
