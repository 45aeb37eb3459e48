import CCRC32C
#if canImport(Glibc)
import Glibc
#endif
import NIOCore

public enum CRC32C {
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        #if DEBUG
        // The slowdown the gate's own test plants (debug builds only, and only with CRUCIBLE_GATE_SLOWDOWN=crc):
        // the checksum computed again, and its first quarter once more, which makes batch validation about a
        // fifth more expensive in a debug build (the CRC is about a sixth of it).
        if plantedSlowdown {
            _ = crucible_crc32c(0, bytes.baseAddress, bytes.count)
            _ = crucible_crc32c(0, bytes.baseAddress, bytes.count / 4)
        }
        #endif
        return crucible_crc32c(0, bytes.baseAddress, bytes.count)
    }

    #if DEBUG
    static let plantedSlowdown = getenv("CRUCIBLE_GATE_SLOWDOWN").map { String(cString: $0) == "crc" } ?? false
    #endif

    public static var isHardwareAccelerated: Bool { crucible_crc32c_is_hardware() != 0 }
}

/// Why a batch was refused; the broker maps each to the Kafka error code clients understand.
public enum BatchError: Error, Equatable, CustomStringConvertible {
    /// Bad CRC, lengths that do not add up, records that do not parse: CORRUPT_MESSAGE.
    case corrupt(String)
    /// A batch larger than `max.message.bytes`: MESSAGE_TOO_LARGE.
    case tooLarge(Int)
    /// Well-formed but not allowed (offset deltas out of order, control batch from a producer): INVALID_RECORD.
    case invalidRecord(String)
    /// Magic other than 2: UNSUPPORTED_FOR_MESSAGE_FORMAT.
    case unsupportedMagic(Int8)
    /// A codec number outside 0-4: UNSUPPORTED_COMPRESSION_TYPE.
    case unsupportedCompression(Int16)

    public var description: String {
        switch self {
        case .corrupt(let why): return "corrupt batch: \(why)"
        case .tooLarge(let size): return "batch of \(size) bytes is too large"
        case .invalidRecord(let why): return "invalid record: \(why)"
        case .unsupportedMagic(let magic): return "unsupported magic \(magic)"
        case .unsupportedCompression(let codec): return "unsupported compression type \(codec)"
        }
    }
}

/// A whole batch inside some buffer: where it is and what its header says.
public struct BatchSpan: Sendable {
    public var header: RecordBatchHeader
    /// Index of the batch's first byte in the buffer it was found in.
    public var start: Int
    public var size: Int { header.totalSize }

    public init(header: RecordBatchHeader, start: Int) {
        self.header = header
        self.start = start
    }
}

public enum RecordBatch {
    /// Splits a buffer of concatenated batches into spans, checking only the framing. A short trailing batch
    /// (Fetch responses may cut the last one) ends the walk; `allowPartialTail` false makes it an error.
    public static func spans(in buffer: ByteBuffer, allowPartialTail: Bool) throws -> [BatchSpan] {
        var spans: [BatchSpan] = []
        var index = buffer.readerIndex
        while index < buffer.writerIndex {
            guard let header = RecordBatchHeader(buffer, at: index) else {
                if allowPartialTail { break }
                throw BatchError.corrupt("\(buffer.writerIndex - index) trailing bytes are not a whole batch header")
            }
            guard header.batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead) else {
                throw BatchError.corrupt("batch length \(header.batchLength) is smaller than a header")
            }
            guard header.totalSize <= buffer.writerIndex - index else {
                if allowPartialTail { break }
                throw BatchError.corrupt("batch length \(header.batchLength) runs past the end of the records")
            }
            spans.append(BatchSpan(header: header, start: index))
            index += header.totalSize
        }
        return spans
    }

    /// Checks CRC-32C over attributes-to-end of the batch at `span`.
    public static func crcMatches(_ span: BatchSpan, in buffer: ByteBuffer) -> Bool {
        let from = span.start + RecordBatchHeader.crcCoverageStart
        return buffer.withUnsafeReadableBytes { bytes in
            let start = from - buffer.readerIndex
            let length = span.size - RecordBatchHeader.crcCoverageStart
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[start..<start + length])) == span.header.crc
        }
    }

    /// The records section of a batch, decompressed when needed, handed to `body` as raw bytes.
    public static func withRecordBytes<T>(_ span: BatchSpan, in buffer: ByteBuffer, maxDecompressedBytes: Int,
                                          _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        guard let codec = span.header.compression else {
            throw BatchError.unsupportedCompression(span.header.attributes & 0x7)
        }
        return try buffer.withUnsafeReadableBytes { bytes in
            let start = span.start - buffer.readerIndex + RecordBatchHeader.size
            let section = UnsafeRawBufferPointer(rebasing: bytes[start..<span.start - buffer.readerIndex + span.size])
            if codec == .none { return try body(section) }
            let plain: [UInt8]
            do {
                plain = try Codecs.decompress(codec, section, maxOutputBytes: maxDecompressedBytes)
            } catch let error as CodecError {
                throw BatchError.corrupt(error.description)
            }
            return try plain.withUnsafeBytes(body)
        }
    }

    /// Decodes every record of the batch at `span` (tools, clients, timestamp lookups).
    public static func records(_ span: BatchSpan, in buffer: ByteBuffer,
                               maxDecompressedBytes: Int = 256 << 20) throws -> [Record] {
        try withRecordBytes(span, in: buffer, maxDecompressedBytes: maxDecompressedBytes) { bytes in
            var walker = RecordWalker(bytes, baseOffset: span.header.baseOffset, baseTimestamp: span.header.baseTimestamp)
            var records: [Record] = []
            records.reserveCapacity(Int(max(0, min(span.header.recordCount, 1 << 20))))
            while !walker.isAtEnd {
                guard let shape = walker.next(collectHeaders: true) else {
                    throw BatchError.corrupt("record \(records.count) does not parse")
                }
                records.append(Record(shape, in: bytes, baseOffset: span.header.baseOffset,
                                      baseTimestamp: span.header.baseTimestamp))
            }
            return records
        }
    }
}
