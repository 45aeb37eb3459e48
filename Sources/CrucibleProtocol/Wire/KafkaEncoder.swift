import NIOCore

/// Accumulates an encoded message. Generated `encode(to:version:)` methods write primitives straight into
/// `buffer`; `records` fields go through `writeRecords`, which can splice in file regions, so the result is a list
/// of `IOData` parts rather than one buffer.
public struct KafkaEncoder {
    /// The part being written. The first part keeps 4 bytes of headroom before its reader index so
    /// `finishFrame()` can prepend the frame size without copying.
    public var buffer: ByteBuffer
    @usableFromInline var completedParts: [IOData] = []
    @usableFromInline var completedByteCount = 0
    @usableFromInline let allocator: ByteBufferAllocator

    @usableFromInline static let frameSizeHeadroom = 4

    public init(allocator: ByteBufferAllocator = .init(), capacity: Int = 256) {
        self.allocator = allocator
        self.buffer = allocator.buffer(capacity: capacity + Self.frameSizeHeadroom)
        self.buffer.moveWriterIndex(forwardBy: Self.frameSizeHeadroom)
        self.buffer.moveReaderIndex(forwardBy: Self.frameSizeHeadroom)
    }

    /// Bytes written so far (excluding the frame size headroom).
    public var byteCount: Int {
        completedByteCount + buffer.readableBytes
    }

    /// Writes a `records` field: its length prefix (INT32, or compact uvarint N+1; null is -1 / 0) then its chunks.
    /// In-memory chunks are copied into the buffer; a file chunk closes the current part and becomes its own part.
    public mutating func writeRecords(_ records: KafkaRecords?, compact: Bool) {
        buffer.writeKafkaLength(records?.byteCount, .forBytesAndArrays(compact: compact))
        for chunk in records?.chunks ?? [] {
            switch chunk {
            case .bytes(let bytes):
                buffer.writeImmutableBuffer(bytes)
            case .file(let region):
                closeCurrentPart()
                completedParts.append(.fileRegion(region))
                completedByteCount += region.readableBytes
            }
        }
    }

    private mutating func closeCurrentPart() {
        completedParts.append(.byteBuffer(buffer))
        completedByteCount += buffer.readableBytes
        buffer = allocator.buffer(capacity: 256)
    }

    /// The encoded parts in order.
    public mutating func finish() -> [IOData] {
        if buffer.readableBytes > 0 || completedParts.isEmpty {
            closeCurrentPart()
        }
        let parts = completedParts
        completedParts = []
        completedByteCount = 0
        return parts
    }

    /// The encoded parts prefixed by their total size as INT32: a size-delimited Kafka frame.
    public mutating func finishFrame() -> [IOData] {
        let size = Int32(byteCount)
        var parts = finish()
        guard case .byteBuffer(var first) = parts[0] else { preconditionFailure("the first part is a buffer") }
        first.moveReaderIndex(to: first.readerIndex - Self.frameSizeHeadroom)
        first.setInteger(size, at: first.readerIndex)
        parts[0] = .byteBuffer(first)
        return parts
    }

    /// The encoded bytes as one buffer. Only for messages without file regions (requests, tests).
    public mutating func finishContiguous() -> ByteBuffer {
        var result = ByteBuffer()
        for part in finish() {
            guard case .byteBuffer(var bytes) = part else { preconditionFailure("file regions cannot be joined") }
            result.writeBuffer(&bytes)
        }
        return result
    }
}

// Writers for structures that may contain records, so they take the encoder rather than a bare buffer.
extension KafkaEncoder {
    @inlinable
    public mutating func writeArray<Element>(
        _ elements: [Element], compact: Bool, _ writeElement: (inout KafkaEncoder, Element) -> Void
    ) {
        buffer.writeKafkaLength(elements.count, .forBytesAndArrays(compact: compact))
        for element in elements {
            writeElement(&self, element)
        }
    }

    @inlinable
    public mutating func writeNullableArray<Element>(
        _ elements: [Element]?, compact: Bool, _ writeElement: (inout KafkaEncoder, Element) -> Void
    ) {
        guard let elements else { return buffer.writeKafkaLength(nil, .forBytesAndArrays(compact: compact)) }
        writeArray(elements, compact: compact, writeElement)
    }

    /// Writes one tagged field: [uvarint tag][uvarint size][value]. The value is encoded into a scratch encoder
    /// first to learn its size (tagged values are small and never hold records).
    @inlinable
    public mutating func writeTaggedField(tag: UInt32, _ writeValue: (inout KafkaEncoder) -> Void) {
        var scratch = KafkaEncoder(allocator: allocator, capacity: 64)
        writeValue(&scratch)
        buffer.writeUnsignedVarint(tag)
        buffer.writeUnsignedVarint(UInt32(scratch.buffer.readableBytes))
        buffer.writeImmutableBuffer(scratch.buffer)
    }
}

extension KafkaEncoder {
    @inlinable
    public mutating func writeNullableStruct<Value>(_ value: Value?, _ writeValue: (inout KafkaEncoder, Value) -> Void) {
        guard let value else { return buffer.writeKafkaInt8(-1) }
        buffer.writeKafkaInt8(1)
        writeValue(&self, value)
    }
}
