import CZstd

/// zstd batches are plain zstd frames; producers may omit the content size, so stream.
enum Zstd {
    static func decompress(_ input: UnsafeRawBufferPointer, maxOutputBytes: Int) throws -> [UInt8] {
        guard let stream = ZSTD_createDStream() else { throw CodecError(codec: .zstd, reason: "cannot create stream") }
        defer { ZSTD_freeDStream(stream) }
        ZSTD_initDStream(stream)
        var output = [UInt8](repeating: 0, count: max(1024, min(maxOutputBytes, input.count * 4)))
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var produced = 0
        var frameDone = false
        while true {
            if produced == output.count {
                guard output.count < maxOutputBytes else {
                    throw CodecError(codec: .zstd, reason: "decompressed size exceeds \(maxOutputBytes) bytes")
                }
                output.append(contentsOf: repeatElement(0, count: min(output.count, maxOutputBytes - output.count)))
            }
            let result: Int = output.withUnsafeMutableBytes { out in
                var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: produced)
                let result = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                produced = outBuffer.pos
                return result
            }
            guard ZSTD_isError(result) == 0 else {
                throw CodecError(codec: .zstd, reason: String(cString: ZSTD_getErrorName(result)))
            }
            frameDone = result == 0
            if inBuffer.pos == inBuffer.size && produced < output.count { break }
        }
        guard frameDone else { throw CodecError(codec: .zstd, reason: "truncated frame") }
        output.removeLast(output.count - produced)
        return output
    }

    static func compress(_ input: UnsafeRawBufferPointer) throws -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var output = [UInt8](repeating: 0, count: bound)
        let written = output.withUnsafeMutableBytes { out in
            ZSTD_compress(out.baseAddress, bound, input.baseAddress, input.count, 3)
        }
        guard ZSTD_isError(written) == 0 else { throw CodecError(codec: .zstd, reason: "compress failed") }
        output.removeLast(output.count - written)
        return output
    }
}
