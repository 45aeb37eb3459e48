import NIOCore

/// The 61-byte header of a magic-2 record batch. Field offsets are fixed by the format, so the header is read
/// and patched in place with `getInteger`/`setInteger`, never re-encoded.
public struct RecordBatchHeader: Equatable, Sendable {
    public static let size = 61
    /// Bytes before `batchLength`'s coverage starts (baseOffset + batchLength).
    public static let logOverhead = 12
    /// CRC-32C covers the batch from the attributes field to its end.
    public static let crcCoverageStart = 21

    enum Field {
        static let baseOffset = 0, batchLength = 8, partitionLeaderEpoch = 12, magic = 16, crc = 17
        static let attributes = 21, lastOffsetDelta = 23, baseTimestamp = 27, maxTimestamp = 35
        static let producerId = 43, producerEpoch = 51, baseSequence = 53, recordCount = 57
    }

    public var baseOffset: Int64
    public var batchLength: Int32
    public var partitionLeaderEpoch: Int32
    public var magic: Int8
    public var crc: UInt32
    public var attributes: Int16
    public var lastOffsetDelta: Int32
    public var baseTimestamp: Int64
    public var maxTimestamp: Int64
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var recordCount: Int32

    /// Reads a header at `index`; nil when fewer than 61 bytes are there.
    public init?(_ buffer: ByteBuffer, at index: Int) {
        guard index >= buffer.readerIndex, buffer.writerIndex - index >= Self.size else { return nil }
        baseOffset = buffer.getInteger(at: index + Field.baseOffset)!
        batchLength = buffer.getInteger(at: index + Field.batchLength)!
        partitionLeaderEpoch = buffer.getInteger(at: index + Field.partitionLeaderEpoch)!
        magic = buffer.getInteger(at: index + Field.magic)!
        crc = buffer.getInteger(at: index + Field.crc)!
        attributes = buffer.getInteger(at: index + Field.attributes)!
        lastOffsetDelta = buffer.getInteger(at: index + Field.lastOffsetDelta)!
        baseTimestamp = buffer.getInteger(at: index + Field.baseTimestamp)!
        maxTimestamp = buffer.getInteger(at: index + Field.maxTimestamp)!
        producerId = buffer.getInteger(at: index + Field.producerId)!
        producerEpoch = buffer.getInteger(at: index + Field.producerEpoch)!
        baseSequence = buffer.getInteger(at: index + Field.baseSequence)!
        recordCount = buffer.getInteger(at: index + Field.recordCount)!
    }

    public init(baseOffset: Int64 = 0, batchLength: Int32 = 0, partitionLeaderEpoch: Int32 = -1, magic: Int8 = 2,
                crc: UInt32 = 0, attributes: Int16 = 0, lastOffsetDelta: Int32 = 0, baseTimestamp: Int64 = 0,
                maxTimestamp: Int64 = 0, producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1,
                recordCount: Int32 = 0) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordCount = recordCount
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(baseOffset)
        buffer.writeInteger(batchLength)
        buffer.writeInteger(partitionLeaderEpoch)
        buffer.writeInteger(magic)
        buffer.writeInteger(crc)
        buffer.writeInteger(attributes)
        buffer.writeInteger(lastOffsetDelta)
        buffer.writeInteger(baseTimestamp)
        buffer.writeInteger(maxTimestamp)
        buffer.writeInteger(producerId)
        buffer.writeInteger(producerEpoch)
        buffer.writeInteger(baseSequence)
        buffer.writeInteger(recordCount)
    }

    /// Whole batch size on disk and on the wire.
    public var totalSize: Int { Int(batchLength) + Self.logOverhead }
    public var lastOffset: Int64 { baseOffset + Int64(lastOffsetDelta) }
    public var compression: CompressionCodec? { CompressionCodec(rawValue: attributes & 0x7) }
    public var isLogAppendTime: Bool { attributes & 0x8 != 0 }
    public var isTransactional: Bool { attributes & 0x10 != 0 }
    public var isControl: Bool { attributes & 0x20 != 0 }
    public var hasProducerId: Bool { producerId >= 0 }
    /// Sequence of the last record, wrapping at Int32.max as Kafka does.
    public var lastSequence: Int32 {
        guard baseSequence >= 0 else { return -1 }
        let last = Int64(baseSequence) + Int64(lastOffsetDelta)
        return Int32(last > Int64(Int32.max) ? last - Int64(Int32.max) - 1 : last)
    }

    public static func attributes(codec: CompressionCodec, transactional: Bool = false, control: Bool = false) -> Int16 {
        codec.rawValue | (transactional ? 0x10 : 0) | (control ? 0x20 : 0)
    }

    /// Stamps the two fields outside the CRC: the broker assigns them on append.
    public static func assign(baseOffset: Int64, leaderEpoch: Int32, in buffer: inout ByteBuffer, at index: Int) {
        buffer.setInteger(baseOffset, at: index + Field.baseOffset)
        buffer.setInteger(leaderEpoch, at: index + Field.partitionLeaderEpoch)
    }
}

extension RecordBatchHeader {
    /// Marks a batch as LogAppendTime with `timestamp` as its max timestamp. Both fields are under the CRC, so
    /// the CRC is recomputed: the one case where the broker rewrites part of a batch (as Kafka does).
    public static func stampLogAppendTime(_ timestamp: Int64, in buffer: inout ByteBuffer, at index: Int) {
        guard let attributes = buffer.getInteger(at: index + Field.attributes, as: Int16.self),
              let length = buffer.getInteger(at: index + Field.batchLength, as: Int32.self) else { return }
        buffer.setInteger(attributes | 0x8, at: index + Field.attributes)
        buffer.setInteger(timestamp, at: index + Field.maxTimestamp)
        let end = index + logOverhead + Int(length)
        let crc = buffer.withUnsafeReadableBytes { bytes in
            let from = index + crcCoverageStart - buffer.readerIndex
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[from..<end - buffer.readerIndex]))
        }
        buffer.setInteger(crc, at: index + Field.crc)
    }
}
