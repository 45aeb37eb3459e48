import CZlib

/// gzip streams through zlib. Kafka's gzip batches are plain gzip (RFC 1952) streams.
enum Gzip {
    static func decompress(_ input: UnsafeRawBufferPointer, maxOutputBytes: Int) throws -> [UInt8] {
        var stream = z_stream()
        // 16 + MAX_WBITS: expect a gzip header and trailer.
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw CodecError(codec: .gzip, reason: "inflateInit failed")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: max(1024, min(maxOutputBytes, input.count * 4)))
        var produced = 0
        stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
        stream.avail_in = uInt(input.count)
        while true {
            if produced == output.count {
                guard output.count < maxOutputBytes else {
                    throw CodecError(codec: .gzip, reason: "decompressed size exceeds \(maxOutputBytes) bytes")
                }
                output.append(contentsOf: repeatElement(0, count: min(output.count, maxOutputBytes - output.count)))
            }
            let status: Int32 = output.withUnsafeMutableBufferPointer { out in
                stream.next_out = out.baseAddress! + produced
                stream.avail_out = uInt(out.count - produced)
                let status = inflate(&stream, Z_NO_FLUSH)
                produced = out.count - Int(stream.avail_out)
                return status
            }
            if status == Z_STREAM_END { break }
            if status == Z_BUF_ERROR && stream.avail_in == 0 {
                throw CodecError(codec: .gzip, reason: "truncated stream")
            }
            guard status == Z_OK || status == Z_BUF_ERROR else {
                throw CodecError(codec: .gzip, reason: "inflate error \(status)")
            }
        }
        output.removeLast(output.count - produced)
        return output
    }

    static func compress(_ input: UnsafeRawBufferPointer) throws -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                             ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw CodecError(codec: .gzip, reason: "deflateInit failed")
        }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count))) + 32
        var output = [UInt8](repeating: 0, count: bound)
        stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
        stream.avail_in = uInt(input.count)
        let status: Int32 = output.withUnsafeMutableBufferPointer { out in
            stream.next_out = out.baseAddress
            stream.avail_out = uInt(out.count)
            return deflate(&stream, Z_FINISH)
        }
        guard status == Z_STREAM_END else { throw CodecError(codec: .gzip, reason: "deflate error \(status)") }
        output.removeLast(output.count - Int(stream.total_out))
        return output
    }
}
