import CZlib
import NIOCore

/// Kafka's message sets before record batches: magic 0 (Produce and Fetch v0-v1) and magic 1 (v2-v3, KIP-32
/// timestamps). Crucible stores only magic-2 batches, as Kafka 3.x does: a Produce v0-v2 message set is converted
/// up into one batch on its way in, and Fetch v0-v3 answers are converted down from the stored batches. Serving
/// these versions is what tells older librdkafka (Debian's 2.0) that the broker supports compression at all: it
/// compresses with gzip, snappy or lz4 only for a broker serving Produce v0.
///
/// A message: offset int64, size int32, crc uint32 (CRC-32 of what follows), magic int8, attributes int8 (codec in
/// bits 0-2, log-append time in bit 3), timestamp int64 (magic 1 only), key and value as int32-length bytes
/// (-1 for null). A compressed message's value is a whole inner message set; with magic 1 the inner offsets are
/// relative and the wrapper carries the absolute offset of the last inner message.
public enum LegacyMessageSet {
    /// The records of a Produce message set, as one magic-2 batch with the codec it was sent with (Kafka keeps a
    /// producer's codec under `compression.type=producer`). Fails as Kafka does: CORRUPT_MESSAGE for a bad CRC,
    /// a truncated message or a value that does not decompress.
    public static func upConvert(_ buffer: ByteBuffer, maxDecompressedBytes: Int) throws -> ByteBuffer {
        var records: [Record] = []
        var codec = CompressionCodec.none
        var reader = buffer
        while reader.readableBytes > 0 {
            let message = try readMessage(&reader)
            guard message.codec != .none else {
                records.append(Record(timestamp: message.timestamp, key: message.key, value: message.value))
                continue
            }
            guard message.codec != .zstd else { throw BatchError.unsupportedCompression(CompressionCodec.zstd.rawValue) }
            if codec == .none { codec = message.codec }
            var compressed = message.value ?? []
            if message.magic == 0 && message.codec == .lz4 { KafkaLZ4.setHeaderChecksum(&compressed, broken: false) }
            let plain: [UInt8]
            do {
                plain = try compressed.withUnsafeBytes {
                    try Codecs.decompress(message.codec, $0, maxOutputBytes: maxDecompressedBytes)
                }
            } catch let error as CodecError {
                throw BatchError.corrupt(error.description)
            }
            var inner = ByteBufferAllocator().buffer(capacity: plain.count)
            inner.writeBytes(plain)
            while inner.readableBytes > 0 {
                let nested = try readMessage(&inner)
                guard nested.codec == .none else { throw BatchError.corrupt("a compressed message inside a compressed message") }
                records.append(Record(timestamp: nested.timestamp, key: nested.key, value: nested.value))
            }
        }
        guard !records.isEmpty else { throw BatchError.corrupt("an empty message set") }
        var builder = RecordBatchBuilder(codec: codec)
        for record in records { builder.append(record) }
        return try builder.build()
    }

    /// Stored batches as a message set of `magic` 1 (Fetch v2-v3) or 0 (v0-v1): control batches left out,
    /// headers dropped (message sets have none), timestamps too with magic 0, a compressed batch as one wrapper
    /// message compressed with the same codec. zstd cannot be expressed (UNSUPPORTED_COMPRESSION_TYPE, as Kafka
    /// answers). A partial batch at the end is left out.
    public static func downConvert(_ buffer: ByteBuffer, magic: UInt8 = 1,
                                   maxDecompressedBytes: Int = 256 << 20) throws -> ByteBuffer {
        precondition(magic <= 1)
        var out = ByteBufferAllocator().buffer(capacity: buffer.readableBytes + 256)
        for span in try RecordBatch.spans(in: buffer, allowPartialTail: true) where !span.header.isControl {
            guard let codec = span.header.compression, codec != .zstd else {
                throw BatchError.unsupportedCompression(span.header.attributes & 0x7)
            }
            let header = span.header
            let records = try RecordBatch.records(span, in: buffer, maxDecompressedBytes: maxDecompressedBytes)
            let timestampType: UInt8 = header.isLogAppendTime && magic == 1 ? 0x08 : 0
            func timestamp(_ record: Record) -> Int64 { header.isLogAppendTime ? header.maxTimestamp : record.timestamp }
            guard codec != .none else {
                for record in records {
                    writeMessage(magic: magic, offset: record.offset, attributes: timestampType,
                                 timestamp: timestamp(record), key: record.key, value: record.value, into: &out)
                }
                continue
            }
            guard let last = records.last else { continue }
            var inner = ByteBufferAllocator().buffer(capacity: span.size * 2)
            for record in records {
                // Magic 1 inner offsets are relative to the batch; magic 0 ones absolute.
                writeMessage(magic: magic, offset: magic == 1 ? record.offset - header.baseOffset : record.offset,
                             attributes: timestampType, timestamp: timestamp(record), key: record.key,
                             value: record.value, into: &inner)
            }
            var compressed = try inner.withUnsafeReadableBytes { try Codecs.compress(codec, $0) }
            if magic == 0 && codec == .lz4 { KafkaLZ4.setHeaderChecksum(&compressed, broken: true) }
            writeMessage(magic: magic, offset: last.offset, attributes: UInt8(codec.rawValue) | timestampType,
                         timestamp: header.maxTimestamp, key: nil, value: compressed, into: &out)
        }
        return out
    }

    struct Message {
        var magic: UInt8
        var codec: CompressionCodec
        var timestamp: Int64
        var key, value: [UInt8]?
    }

    static func readMessage(_ reader: inout ByteBuffer) throws -> Message {
        guard let _ = reader.readInteger(as: Int64.self), let size = reader.readInteger(as: Int32.self),
              size >= 14, reader.readableBytes >= Int(size),
              var body = reader.readSlice(length: Int(size)) else {
            throw BatchError.corrupt("a truncated message")
        }
        let crc = body.readInteger(as: UInt32.self)!
        let computed = body.withUnsafeReadableBytes { bytes in
            UInt32(crc32(0, bytes.bindMemory(to: Bytef.self).baseAddress, uInt(bytes.count)))
        }
        guard crc == computed else { throw BatchError.corrupt("message CRC mismatch") }
        let magic = body.readInteger(as: UInt8.self)!
        let attributes = body.readInteger(as: UInt8.self)!
        guard magic <= 1 else { throw BatchError.corrupt("magic \(magic) in a message set") }
        guard let codec = CompressionCodec(rawValue: Int16(attributes & 0x7)) else {
            throw BatchError.unsupportedCompression(Int16(attributes & 0x7))
        }
        var timestamp: Int64 = -1
        if magic == 1 {
            guard let stamp = body.readInteger(as: Int64.self) else { throw BatchError.corrupt("a truncated message") }
            timestamp = stamp
        }
        func bytes() throws -> [UInt8]? {
            guard let length = body.readInteger(as: Int32.self) else { throw BatchError.corrupt("a truncated message") }
            guard length >= 0 else { return nil }
            guard let field = body.readBytes(length: Int(length)) else { throw BatchError.corrupt("a truncated message") }
            return field
        }
        let key = try bytes()
        let value = try bytes()
        guard body.readableBytes == 0 else { throw BatchError.corrupt("a message longer than its fields") }
        return Message(magic: magic, codec: codec, timestamp: timestamp, key: key, value: value)
    }

    static func writeMessage(magic: UInt8 = 1, offset: Int64, attributes: UInt8, timestamp: Int64, key: [UInt8]?,
                             value: [UInt8]?, into out: inout ByteBuffer) {
        out.writeInteger(offset)
        let sizeAt = out.writerIndex
        out.writeInteger(Int32(0))
        let crcAt = out.writerIndex
        out.writeInteger(UInt32(0))
        out.writeInteger(magic)
        out.writeInteger(attributes)
        if magic == 1 { out.writeInteger(timestamp) }
        for field in [key, value] {
            if let field {
                out.writeInteger(Int32(field.count))
                out.writeBytes(field)
            } else {
                out.writeInteger(Int32(-1))
            }
        }
        out.setInteger(Int32(out.writerIndex - crcAt), at: sizeAt)
        let crc = out.withUnsafeReadableBytes { bytes in
            let covered = UnsafeRawBufferPointer(rebasing: bytes[(crcAt + 4 - out.readerIndex)...])
            return UInt32(crc32(0, covered.bindMemory(to: Bytef.self).baseAddress, uInt(covered.count)))
        }
        out.setInteger(crc, at: crcAt)
    }
}

/// Kafka's magic-0 lz4 frames carry a header checksum computed over the frame's magic number as well as its
/// descriptor (KAFKA-3160); magic 1 fixed it. A magic-0 frame is repaired before decompressing, and written with
/// the broken checksum that magic-0 readers expect.
enum KafkaLZ4 {
    static func setHeaderChecksum(_ frame: inout [UInt8], broken: Bool) {
        // Magic (4 bytes), FLG, BD, an 8-byte content size when FLG bit 3 is set, then the checksum byte.
        guard frame.count >= 7 else { return }
        let descriptorEnd = 6 + (frame[4] & 0x08 != 0 ? 8 : 0)
        guard frame.count > descriptorEnd else { return }
        let covered = Array(frame[(broken ? 0 : 4)..<descriptorEnd])
        frame[descriptorEnd] = UInt8((xxh32(covered) >> 8) & 0xFF)
    }

    /// XXH32 with seed 0, for inputs under 16 bytes (a frame descriptor with its magic is at most 14).
    static func xxh32(_ bytes: [UInt8]) -> UInt32 {
        precondition(bytes.count < 16)
        let p1: UInt32 = 2_654_435_761, p2: UInt32 = 2_246_822_519, p3: UInt32 = 3_266_489_917
        let p4: UInt32 = 668_265_263, p5: UInt32 = 374_761_393
        func rotl(_ x: UInt32, _ r: UInt32) -> UInt32 { (x << r) | (x >> (32 - r)) }
        var h = p5 &+ UInt32(bytes.count)
        var i = 0
        while i + 4 <= bytes.count {
            let word = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
            h = rotl(h &+ word &* p3, 17) &* p4
            i += 4
        }
        while i < bytes.count {
            h = rotl(h &+ UInt32(bytes[i]) &* p5, 11) &* p1
            i += 1
        }
        h ^= h >> 15
        h = h &* p2
        h ^= h >> 13
        h = h &* p3
        h ^= h >> 16
        return h
    }
}
