import CLZ4

/// Kafka's lz4 batches use the LZ4 frame format (magic 0x184D2204).
enum LZ4Frame {
    static func decompress(_ input: UnsafeRawBufferPointer, maxOutputBytes: Int) throws -> [UInt8] {
        var context: OpaquePointer?
        guard LZ4F_isError(LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))) == 0, let context else {
            throw CodecError(codec: .lz4, reason: "cannot create context")
        }
        defer { LZ4F_freeDecompressionContext(context) }
        var output = [UInt8](repeating: 0, count: max(1024, min(maxOutputBytes, input.count * 4)))
        var produced = 0
        var consumed = 0
        while true {
            if produced == output.count {
                guard output.count < maxOutputBytes else {
                    throw CodecError(codec: .lz4, reason: "decompressed size exceeds \(maxOutputBytes) bytes")
                }
                output.append(contentsOf: repeatElement(0, count: min(output.count, maxOutputBytes - output.count)))
            }
            var outSize = output.count - produced
            var inSize = input.count - consumed
            let hint = output.withUnsafeMutableBytes { out in
                LZ4F_decompress(context, out.baseAddress! + produced, &outSize,
                                input.baseAddress.map { $0 + consumed }, &inSize, nil)
            }
            guard LZ4F_isError(hint) == 0 else {
                throw CodecError(codec: .lz4, reason: String(cString: LZ4F_getErrorName(hint)))
            }
            produced += outSize
            consumed += inSize
            if hint == 0 { break }
            if consumed == input.count && outSize == 0 {
                throw CodecError(codec: .lz4, reason: "truncated frame")
            }
        }
        output.removeLast(output.count - produced)
        return output
    }

    static func compress(_ input: UnsafeRawBufferPointer) throws -> [UInt8] {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        let bound = LZ4F_compressFrameBound(input.count, &preferences)
        var output = [UInt8](repeating: 0, count: bound)
        let written = output.withUnsafeMutableBytes { out in
            LZ4F_compressFrame(out.baseAddress, bound, input.baseAddress, input.count, &preferences)
        }
        guard LZ4F_isError(written) == 0 else { throw CodecError(codec: .lz4, reason: "compress failed") }
        output.removeLast(output.count - written)
        return output
    }
}
