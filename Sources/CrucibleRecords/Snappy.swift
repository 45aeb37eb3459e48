import CSnappy

/// Snappy arrives two ways: raw blocks (librdkafka) and the xerial framing that Java, kafka-python and
/// aiokafka write: magic `82 'SNAPPY' 00`, two big-endian i32 versions, then `[i32 length][raw block]`...
enum Snappy {
    static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    static let xerialHeaderBytes = 16

    static func decompress(_ input: UnsafeRawBufferPointer, maxOutputBytes: Int) throws -> [UInt8] {
        if input.count >= xerialHeaderBytes && input.prefix(8).elementsEqual(xerialMagic) {
            return try decompressXerial(input, maxOutputBytes: maxOutputBytes)
        }
        var output: [UInt8] = []
        try appendRawBlock(input, to: &output, maxOutputBytes: maxOutputBytes)
        return output
    }

    private static func decompressXerial(_ input: UnsafeRawBufferPointer, maxOutputBytes: Int) throws -> [UInt8] {
        var output: [UInt8] = []
        var position = xerialHeaderBytes
        while position < input.count {
            guard position + 4 <= input.count else { throw CodecError(codec: .snappy, reason: "truncated xerial block length") }
            let length = Int(UInt32(input[position]) << 24 | UInt32(input[position + 1]) << 16
                             | UInt32(input[position + 2]) << 8 | UInt32(input[position + 3]))
            position += 4
            guard length <= input.count - position else { throw CodecError(codec: .snappy, reason: "truncated xerial block") }
            try appendRawBlock(UnsafeRawBufferPointer(rebasing: input[position..<position + length]),
                               to: &output, maxOutputBytes: maxOutputBytes)
            position += length
        }
        return output
    }

    private static func appendRawBlock(_ block: UnsafeRawBufferPointer, to output: inout [UInt8],
                                       maxOutputBytes: Int) throws {
        guard let base = block.baseAddress?.assumingMemoryBound(to: CChar.self) else {
            throw CodecError(codec: .snappy, reason: "empty block")
        }
        var length = 0
        guard snappy_uncompressed_length(base, block.count, &length) == SNAPPY_OK else {
            throw CodecError(codec: .snappy, reason: "invalid block header")
        }
        guard length <= maxOutputBytes - output.count else {
            throw CodecError(codec: .snappy, reason: "decompressed size exceeds \(maxOutputBytes) bytes")
        }
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: length))
        let status = output.withUnsafeMutableBytes { out -> snappy_status in
            var produced = length
            return snappy_uncompress(base, block.count,
                                     out.baseAddress!.advanced(by: start).assumingMemoryBound(to: CChar.self), &produced)
        }
        guard status == SNAPPY_OK else { throw CodecError(codec: .snappy, reason: "corrupt block") }
    }

    static func compressRaw(_ input: UnsafeRawBufferPointer) throws -> [UInt8] {
        var length = snappy_max_compressed_length(input.count)
        var output = [UInt8](repeating: 0, count: length)
        var empty: CChar = 0
        let source = input.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafePointer(&empty)
        let status = output.withUnsafeMutableBytes { out in
            snappy_compress(source, input.count, out.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
        }
        guard status == SNAPPY_OK else { throw CodecError(codec: .snappy, reason: "compress failed") }
        output.removeLast(output.count - length)
        return output
    }

    /// The framing the Java client writes, for tests and for clients of our own that want it.
    static func compressXerial(_ input: UnsafeRawBufferPointer, blockBytes: Int = 32 * 1024) throws -> [UInt8] {
        var output = xerialMagic + [0, 0, 0, 1, 0, 0, 0, 1]
        var position = 0
        repeat {
            let end = min(input.count, position + blockBytes)
            let block = try compressRaw(UnsafeRawBufferPointer(rebasing: input[position..<end]))
            let n = UInt32(block.count)
            output += [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
            output += block
            position = end
        } while position < input.count
        return output
    }
}
