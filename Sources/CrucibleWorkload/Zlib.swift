import CZlib

/// zlib streams (RFC 1950: header, deflate, Adler-32), the format Java's `Deflater` writes by default and HdrHistogram
/// compresses its payloads with.
enum Zlib {
    /// Level 6 (zlib's default) as Java's `Deflater.DEFAULT_COMPRESSION` is, so output matches Java's byte for byte
    /// when both use zlib.
    static func compress(_ input: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(compressBound(uLong(input.count))))
        var outputLength = uLongf(output.count)
        let status = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { source in
                compress2(out.baseAddress, &outputLength, source.baseAddress, uLong(source.count), Z_DEFAULT_COMPRESSION)
            }
        }
        // compressBound guarantees room, and the inputs are valid: any other status is a zlib bug.
        precondition(status == Z_OK, "compress2 failed with \(status)")
        output.removeLast(output.count - Int(outputLength))
        return output
    }

    /// The whole stream inflated, refusing to grow past `outputBytesMax` (a payload is read from files that may be
    /// damaged or hostile) and refusing a stream that ends early.
    static func decompress(_ input: [UInt8], outputBytesMax: Int) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw HistogramEncodingError("zlib inflateInit failed")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: min(outputBytesMax, max(256, input.count * 8)))
        var produced = 0
        return try input.withUnsafeBufferPointer { source in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = uInt(source.count)
            while true {
                if produced == output.count {
                    guard output.count < outputBytesMax else {
                        throw HistogramEncodingError("inflated histogram exceeds \(outputBytesMax) bytes")
                    }
                    output.append(contentsOf: repeatElement(0, count: min(output.count, outputBytesMax - output.count)))
                }
                let status: Int32 = output.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress! + produced
                    stream.avail_out = uInt(out.count - produced)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    produced = out.count - Int(stream.avail_out)
                    return status
                }
                switch status {
                case Z_STREAM_END:
                    output.removeLast(output.count - produced)
                    return output
                case Z_OK:
                    continue
                case Z_BUF_ERROR where produced == output.count:
                    continue // out of room: grown at the top of the loop
                case Z_BUF_ERROR:
                    throw HistogramEncodingError("zlib stream truncated")
                default:
                    throw HistogramEncodingError("zlib stream damaged (inflate status \(status))")
                }
            }
        }
    }
}
