// The pieces of HdrHistogram's V2 encoding below the payload: index arithmetic, zig-zag LEB128, big-endian reads.

/// Java HdrHistogram's counts array layout, computed independently of hdrhistogram-swift (whose index arithmetic is
/// internal): index → lowest value of that index, and the array length a value range needs.
struct CountsLayout {
    let unitMagnitude: Int
    let subBucketHalfCountMagnitude: Int

    init(lowestDiscernibleValue: UInt64, significantDigits: Int) {
        unitMagnitude = 63 - lowestDiscernibleValue.leadingZeroBitCount
        // Single-unit resolution is needed up to 2 x 10^digits; the sub-bucket count is that rounded up to a power
        // of two, and half of it is what each bucket after the first adds.
        var singleUnitLimit: UInt64 = 2
        for _ in 0 ..< significantDigits { singleUnitLimit *= 10 }
        let subBucketCountMagnitude = 64 - (singleUnitLimit - 1).leadingZeroBitCount
        subBucketHalfCountMagnitude = max(subBucketCountMagnitude, 1) - 1
    }

    var subBucketHalfCount: Int { 1 << subBucketHalfCountMagnitude }

    func lowestValue(atIndex index: Int) -> UInt64 {
        var bucket = (index >> subBucketHalfCountMagnitude) - 1
        var subBucket = (index & (subBucketHalfCount - 1)) + subBucketHalfCount
        if bucket < 0 {
            // The first bucket uses its lower half too.
            subBucket -= subBucketHalfCount
            bucket = 0
        }
        return UInt64(subBucket) << (bucket + unitMagnitude)
    }

    func countsLength(highestTrackableValue: UInt64) -> Int {
        var smallestUntrackable = UInt64(2 * subBucketHalfCount) << unitMagnitude
        var buckets = 1
        while smallestUntrackable <= highestTrackableValue {
            if smallestUntrackable > UInt64.max / 2 {
                buckets += 1
                break
            }
            smallestUntrackable <<= 1
            buckets += 1
        }
        return (buckets + 1) * subBucketHalfCount
    }
}

/// Java HdrHistogram's ZigZagEncoding: zig-zag, then 7 bits a byte low first, at most 9 bytes with the ninth
/// carrying a full 8 bits (so 64 bits never need a tenth byte).
enum ZigZag {
    static func append(_ value: Int64, to out: inout [UInt8]) {
        var v = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        for _ in 0 ..< 8 {
            if v >> 7 == 0 {
                out.append(UInt8(v))
                return
            }
            out.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        out.append(UInt8(truncatingIfNeeded: v))
    }

    static func read(_ reader: inout ByteReader, end: Int) -> Int64? {
        var v: UInt64 = 0
        for shift in stride(from: 0, to: 56, by: 7) {
            guard reader.position < end, let byte = reader.u8() else { return nil }
            v |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return decoded(v) }
        }
        guard reader.position < end, let last = reader.u8() else { return nil }
        v |= UInt64(last) << 56
        return decoded(v)
    }

    private static func decoded(_ v: UInt64) -> Int64 {
        Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }
}

/// Big-endian reads that return nil at the end instead of trapping.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var position = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - position }

    mutating func u8() -> UInt8? {
        guard position < bytes.count else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func u32() -> UInt32? { integer() }
    mutating func u64() -> UInt64? { integer() }

    private mutating func integer<T: FixedWidthInteger>() -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        var value: T = 0
        for byte in bytes[position ..< position + size] { value = value << 8 | T(byte) }
        position += size
        return value
    }
}
