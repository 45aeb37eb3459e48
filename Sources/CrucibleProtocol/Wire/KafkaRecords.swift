import NIOCore

/// The value of a `records`-typed field (Produce, Fetch, FetchSnapshot): opaque record-batch bytes that this layer
/// never parses. When encoding, parts may be file regions so a Fetch response can be sent with sendfile.
public struct KafkaRecords: Equatable, Sendable {
    public enum Chunk: Sendable {
        case bytes(ByteBuffer)
        case file(FileRegion)

        public var byteCount: Int {
            switch self {
            case .bytes(let buffer): return buffer.readableBytes
            case .file(let region): return region.readableBytes
            }
        }
    }

    public var chunks: [Chunk]

    public init(_ buffer: ByteBuffer) {
        self.chunks = [.bytes(buffer)]
    }

    public init(chunks: [Chunk]) {
        self.chunks = chunks
    }

    /// Total size in bytes of all chunks.
    public var byteCount: Int {
        chunks.reduce(0) { $0 + $1.byteCount }
    }

    /// The bytes, when the records are held as a single in-memory chunk (always the case after decoding).
    public var contiguousBytes: ByteBuffer? {
        if chunks.isEmpty { return ByteBuffer() }
        guard chunks.count == 1, case .bytes(let buffer) = chunks[0] else { return nil }
        return buffer
    }

    /// Equal when the in-memory bytes are equal and the file chunks name the same descriptor and range, in the same
    /// order; how bytes happen to be split between consecutive `.bytes` chunks does not matter.
    public static func == (lhs: KafkaRecords, rhs: KafkaRecords) -> Bool {
        lhs.comparableSegments == rhs.comparableSegments
    }

    private enum Segment: Equatable {
        case bytes(ByteBuffer)
        case file(descriptor: CInt?, readerIndex: Int, endIndex: Int)
    }

    private var comparableSegments: [Segment] {
        var segments: [Segment] = []
        for chunk in chunks {
            switch chunk {
            case .bytes(var buffer):
                if case .bytes(var previous)? = segments.last {
                    previous.writeBuffer(&buffer)
                    segments[segments.count - 1] = .bytes(previous)
                } else {
                    segments.append(.bytes(buffer))
                }
            case .file(let region):
                let descriptor = try? region.fileHandle.withUnsafeFileDescriptor { $0 }
                segments.append(.file(descriptor: descriptor, readerIndex: region.readerIndex,
                                      endIndex: region.endIndex))
            }
        }
        return segments.filter { $0 != .bytes(ByteBuffer()) }
    }
}

extension ByteBuffer {
    /// Reads a `records` field as a zero-copy slice of this buffer.
    @inlinable
    public mutating func readKafkaNullableRecords(compact: Bool) throws -> KafkaRecords? {
        try readKafkaNullableBytes(compact: compact).map { KafkaRecords($0) }
    }

    @inlinable
    public mutating func readKafkaRecords(compact: Bool) throws -> KafkaRecords {
        KafkaRecords(try readKafkaBytes(compact: compact))
    }
}
