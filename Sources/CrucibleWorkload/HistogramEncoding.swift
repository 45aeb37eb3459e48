import Foundation
import Histogram

/// A histogram payload that cannot be decoded, with the reason.
public struct HistogramEncodingError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ reason: String) { description = reason }
}

/// HdrHistogram's V2 binary encoding in the layout Java's `encodeIntoCompressedByteBuffer` writes, so the `.hlog`
/// files Crucible writes are read by HdrHistogram's own tools (HistogramLogProcessor, the PyPI `hdrhistogram`
/// package, HdrHistogram.js plotters) and theirs by Crucible. The uncompressed bytes equal HdrHistogram-js's for the
/// same histogram (a test checks); the zlib stream uses zlib's default level, as Java's `Deflater` does.
///
/// Layout (all integers big-endian):
///   compressed:   i32 cookie 0x1c849314 | i32 byte length of the zlib stream | zlib stream (RFC 1950) of ↓
///   uncompressed: i32 cookie 0x1c849313 | i32 counts byte length | i32 normalizing index offset (always 0 here)
///                 | i32 significant digits | i64 lowest discernible value | i64 highest trackable value
///                 | f64 integer-to-double ratio (1.0) | counts from index 0 as zig-zag LEB128, a run of two or more
///                 zero counts written as one negative number (minus the run length)
public enum HistogramEncoding {
    /// The low nibble names the encoding, bits 4-7 the word size (Java ignores them when checking the cookie).
    static let uncompressedCookie: UInt32 = 0x1c84_9313
    static let compressedCookie: UInt32 = 0x1c84_9314
    static let cookieBaseMask: UInt32 = ~0xf0
    static let headerBytes = 40
    /// The largest uncompressed payload accepted: a 5-digit histogram over the whole 64-bit range has ~6.3M counts,
    /// at most 9 bytes each; anything larger is not a histogram.
    static let uncompressedBytesMax = 64 << 20

    public static func encodeCompressed(_ h: Histogram<UInt64>) -> [UInt8] {
        let plain = encode(h)
        let deflated = Zlib.compress(plain)
        var out: [UInt8] = []
        out.reserveCapacity(8 + deflated.count)
        appendBigEndian(&out, compressedCookie)
        appendBigEndian(&out, UInt32(deflated.count))
        out.append(contentsOf: deflated)
        return out
    }

    public static func decodeCompressed(_ bytes: [UInt8]) throws -> Histogram<UInt64> {
        var reader = ByteReader(bytes)
        guard let cookie = reader.u32(), let length = reader.u32() else {
            throw HistogramEncodingError("compressed histogram shorter than its 8-byte header")
        }
        guard cookie & cookieBaseMask == compressedCookie & cookieBaseMask else {
            throw HistogramEncodingError(String(format: "not a compressed V2 histogram (cookie 0x%08x)", cookie))
        }
        guard Int(length) <= reader.remaining else {
            throw HistogramEncodingError("compressed length \(length) exceeds the \(reader.remaining) bytes present")
        }
        let plain = try Zlib.decompress(Array(bytes[8 ..< 8 + Int(length)]), outputBytesMax: uncompressedBytesMax)
        return try decode(plain)
    }

    /// The uncompressed V2 encoding.
    static func encode(_ h: Histogram<UInt64>) -> [UInt8] {
        let counts = countsToLastNonZero(h)
        var body: [UInt8] = []
        body.reserveCapacity(counts.count + 16)
        var index = 0
        while index < counts.count {
            let count = counts[index]
            index += 1
            guard count == 0 else {
                // A count beyond Int64.max would take centuries of recording; clamp rather than trap.
                ZigZag.append(Int64(clamping: count), to: &body)
                continue
            }
            var zeros: Int64 = 1
            while index < counts.count, counts[index] == 0 {
                zeros += 1
                index += 1
            }
            // A lone zero is cheaper as itself (one byte) than as a run; Java writes it the same way.
            ZigZag.append(zeros > 1 ? -zeros : 0, to: &body)
        }
        var out: [UInt8] = []
        out.reserveCapacity(headerBytes + body.count)
        appendBigEndian(&out, uncompressedCookie)
        appendBigEndian(&out, UInt32(body.count))
        appendBigEndian(&out, UInt32(0))
        appendBigEndian(&out, UInt32(h.numberOfSignificantValueDigits.rawValue))
        appendBigEndian(&out, h.lowestDiscernibleValue)
        appendBigEndian(&out, h.highestTrackableValue)
        appendBigEndian(&out, (1.0 as Double).bitPattern)
        out.append(contentsOf: body)
        return out
    }

    /// Per-index counts up to the last non-zero one (Java stops at the index of the maximum value). An empty
    /// histogram still writes index 0, as Java does.
    ///
    /// hdrhistogram-swift keeps `counts` internal. Its iterators would give them too, but they also sum
    /// value x count in a UInt64 that traps on overflow (values near 2^62 recorded a few times), so each index is
    /// read with `countForValue` at its lowest value instead, from this file's own index arithmetic (which decoding
    /// relies on as well, and a test checks against the iterator index by index).
    static func countsToLastNonZero(_ h: Histogram<UInt64>) -> [UInt64] {
        let layout = CountsLayout(lowestDiscernibleValue: h.lowestDiscernibleValue,
                                  significantDigits: Int(h.numberOfSignificantValueDigits.rawValue))
        let length = layout.countsLength(highestTrackableValue: h.highestTrackableValue)
        var counts: [UInt64] = []
        var seen: UInt64 = 0
        repeat {
            let value = layout.lowestValue(atIndex: counts.count)
            assert(h.lowestEquivalentForValue(value) == value, "hdrhistogram-swift's index layout differs from Java's")
            let count = h.countForValue(value)
            counts.append(count)
            seen &+= count
        } while seen < h.totalCount && counts.count < length
        return counts
    }

    static func decode(_ bytes: [UInt8]) throws -> Histogram<UInt64> {
        var reader = ByteReader(bytes)
        guard let cookie = reader.u32(), let bodyLength = reader.u32(), let offset = reader.u32(),
              let digits = reader.u32(), let lowest = reader.u64(), let highest = reader.u64(),
              let ratioBits = reader.u64()
        else { throw HistogramEncodingError("histogram shorter than its \(headerBytes)-byte header") }
        guard cookie & cookieBaseMask == uncompressedCookie & cookieBaseMask else {
            throw HistogramEncodingError(String(format: "not a V2 histogram (cookie 0x%08x)", cookie))
        }
        // Only Java's DoubleHistogram writes a non-zero offset or another ratio; those are not latency logs.
        guard offset == 0 else { throw HistogramEncodingError("normalizing index offset \(Int32(bitPattern: offset)) unsupported") }
        guard Double(bitPattern: ratioBits) == 1.0 else {
            throw HistogramEncodingError("integer-to-double ratio \(Double(bitPattern: ratioBits)) unsupported")
        }
        guard Int(bodyLength) <= reader.remaining else {
            throw HistogramEncodingError("counts length \(bodyLength) exceeds the \(reader.remaining) bytes present")
        }
        guard let significant = SignificantDigits(rawValue: Int8(clamping: Int32(bitPattern: digits))) else {
            throw HistogramEncodingError("significant digits \(Int32(bitPattern: digits)) not in 0...5")
        }
        // hdrhistogram-swift traps on these (preconditions), so refuse them here.
        guard lowest >= 1, lowest <= UInt64.max / 2, lowest * 2 <= highest else {
            throw HistogramEncodingError("value range \(lowest)...\(highest) invalid")
        }
        let layout = CountsLayout(lowestDiscernibleValue: lowest, significantDigits: Int(significant.rawValue))
        guard layout.unitMagnitude + layout.subBucketHalfCountMagnitude <= 61 else {
            throw HistogramEncodingError("\(digits) digits beyond lowest value \(lowest) do not fit 64 bits")
        }
        var h = Histogram<UInt64>(lowestDiscernibleValue: lowest, highestTrackableValue: highest,
                                  numberOfSignificantValueDigits: significant)
        let countsLength = layout.countsLength(highestTrackableValue: highest)
        try decodeCounts(&reader, bodyLength: Int(bodyLength), layout: layout, countsLength: countsLength, into: &h)
        return h
    }

    private static func decodeCounts(_ reader: inout ByteReader, bodyLength: Int, layout: CountsLayout,
                                     countsLength: Int, into h: inout Histogram<UInt64>) throws {
        let end = reader.position + bodyLength
        var index = 0
        var nonZero: [(index: Int, count: UInt64)] = []
        while reader.position < end {
            guard let value = ZigZag.read(&reader, end: end) else { throw HistogramEncodingError("truncated count") }
            if value < 0 {
                // Capped so a hostile run length cannot overflow the index; past the end it is refused below.
                index += Int(min(value.magnitude, UInt64(countsLength)))
                continue
            }
            guard index < countsLength else {
                throw HistogramEncodingError("count at index \(index) beyond the \(countsLength) the range allows")
            }
            if value > 0 { nonZero.append((index, UInt64(value))) }
            index += 1
        }
        for (position, entry) in nonZero.enumerated() {
            // Each index is recorded at its lowest equivalent value, except the last at its highest: that leaves
            // min and max where Java's decoder puts them (Java recomputes max as the highest equivalent value).
            let low = layout.lowestValue(atIndex: entry.index)
            let isLast = position == nonZero.count - 1 && entry.index > 0
            let value = isLast ? h.highestEquivalentForValue(low) : low
            guard h.record(value, count: entry.count) else {
                throw HistogramEncodingError("value \(value) at index \(entry.index) not recordable")
            }
        }
    }

    static func appendBigEndian<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
    }
}
