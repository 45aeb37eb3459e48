import NIOCore

/// Encodes records into one magic-2 batch with its CRC: for the project's own producer, tools and tests.
public struct RecordBatchBuilder {
    public var codec: CompressionCodec
    public var producerId: Int64 = -1
    public var producerEpoch: Int16 = -1
    public var baseSequence: Int32 = -1
    public var isTransactional = false
    public var isControl = false
    public var partitionLeaderEpoch: Int32 = -1
    private(set) var records: [Record] = []

    public init(codec: CompressionCodec = .none) {
        self.codec = codec
    }

    public var count: Int { records.count }

    public mutating func append(_ record: Record) {
        records.append(record)
    }

    public func build(baseOffset: Int64 = 0) throws -> ByteBuffer {
        precondition(!records.isEmpty, "a batch holds at least one record")
        let baseTimestamp = records.map(\.timestamp).min()!
        var plain: [UInt8] = []
        for (delta, record) in records.enumerated() {
            Self.encode(record, offsetDelta: Int64(delta), timestampDelta: record.timestamp - baseTimestamp, into: &plain)
        }
        let section = try plain.withUnsafeBytes { try Codecs.compress(codec, $0) }
        var header = RecordBatchHeader(
            baseOffset: baseOffset,
            batchLength: Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead + section.count),
            partitionLeaderEpoch: partitionLeaderEpoch,
            attributes: RecordBatchHeader.attributes(codec: codec, transactional: isTransactional, control: isControl),
            lastOffsetDelta: Int32(records.count - 1),
            baseTimestamp: baseTimestamp, maxTimestamp: records.map(\.timestamp).max()!,
            producerId: producerId, producerEpoch: producerEpoch, baseSequence: baseSequence,
            recordCount: Int32(records.count))
        var buffer = ByteBufferAllocator().buffer(capacity: RecordBatchHeader.size + section.count)
        header.write(to: &buffer)
        buffer.writeBytes(section)
        header.crc = buffer.withUnsafeReadableBytes { bytes in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.crcCoverageStart...]))
        }
        buffer.setInteger(header.crc, at: buffer.readerIndex + RecordBatchHeader.Field.crc)
        return buffer
    }

    static func encode(_ record: Record, offsetDelta: Int64, timestampDelta: Int64, into out: inout [UInt8]) {
        var body: [UInt8] = [0]
        VarintWriter.writeVarlong(timestampDelta, to: &body)
        VarintWriter.writeVarlong(offsetDelta, to: &body)
        func field(_ bytes: [UInt8]?) {
            guard let bytes else { VarintWriter.writeVarlong(-1, to: &body); return }
            VarintWriter.writeVarlong(Int64(bytes.count), to: &body)
            body += bytes
        }
        field(record.key)
        field(record.value)
        VarintWriter.writeVarlong(Int64(record.headers.count), to: &body)
        for header in record.headers {
            field(Array(header.key.utf8))
            field(header.value)
        }
        VarintWriter.writeVarlong(Int64(body.count), to: &out)
        out += body
    }
}
