/// Zig-zag varints of the record format, read from raw memory: record parsing is the broker's hottest loop
/// after CRC, so it avoids ByteBuffer's bounds bookkeeping and checks bounds itself.
struct RawReader {
    let base: UnsafeRawPointer
    let end: Int
    var position: Int

    init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
        base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        end = bytes.count
        self.position = position
    }

    var remaining: Int { end - position }

    @inline(__always)
    mutating func readVarlong() -> Int64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < end {
            let byte = base.load(fromByteOffset: position, as: UInt8.self)
            position += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 {
                return Int64(bitPattern: (result >> 1) ^ (0 &- (result & 1)))
            }
            shift += 7
            if shift > 63 { return nil }
        }
        return nil
    }

    @inline(__always)
    mutating func readVarint() -> Int32? {
        guard let value = readVarlong(), value >= Int64(Int32.min), value <= Int64(Int32.max) else { return nil }
        return Int32(value)
    }

    @inline(__always)
    mutating func readByte() -> UInt8? {
        guard position < end else { return nil }
        defer { position += 1 }
        return base.load(fromByteOffset: position, as: UInt8.self)
    }

    /// Skips a length-prefixed field (-1 = null); returns its range, nil range for null, or fails.
    @inline(__always)
    mutating func readLengthPrefixed() -> Range<Int>?? {
        guard let length = readVarint() else { return nil }
        if length == -1 { return .some(nil) }
        guard length >= 0, Int(length) <= remaining else { return nil }
        defer { position += Int(length) }
        return .some(position..<position + Int(length))
    }
}

enum VarintWriter {
    static func writeVarlong(_ value: Int64, to bytes: inout [UInt8]) {
        var v = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    static func size(_ value: Int64) -> Int {
        var v = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        var n = 1
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }
}
