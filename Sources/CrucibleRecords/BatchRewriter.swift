import NIOCore

/// One record of a stored batch as the log cleaner sees it: where it sits, its key, whether it is a tombstone,
/// and its key/value/headers bytes exactly as written, so what the cleaner keeps is re-encoded byte for byte.
public struct RetainableRecord: Sendable {
    public var offset: Int64
    public var timestamp: Int64
    public var key: [UInt8]?
    public var hasValue: Bool
    /// The record's bytes from the key length to its end (key, value, headers), untouched.
    let body: [UInt8]
}

/// Rewrites what the log cleaner keeps of a batch, as Kafka's `MemoryRecords.filterTo` does for magic 2: the
/// header fields that producer state and leader epochs depend on stay (base offset, last offset delta, producer
/// id/epoch, base sequence, partition leader epoch, timestamp type, transactional and control bits), the records
/// kept are recompressed with the batch's own codec, and the CRC is computed afresh.
public enum BatchRewriter {
    /// Attribute bit 6 (KIP-534): the base timestamp holds the time after which tombstones may go.
    public static let deleteHorizonFlag: Int16 = 0x40

    /// The records of the batch at `span`, decompressed, with their raw bodies.
    public static func records(_ span: BatchSpan, in buffer: ByteBuffer,
                               maxDecompressedBytes: Int = 256 << 20) throws -> [RetainableRecord] {
        let header = span.header
        return try RecordBatch.withRecordBytes(span, in: buffer, maxDecompressedBytes: maxDecompressedBytes) { bytes in
            var reader = RawReader(bytes)
            var records: [RetainableRecord] = []
            while reader.remaining > 0 {
                guard let length = reader.readVarint(), length > 0, Int(length) <= reader.remaining else {
                    throw BatchError.corrupt("record \(records.count) has a bad length")
                }
                let end = reader.position + Int(length)
                guard reader.readByte() != nil, let timestampDelta = reader.readVarlong(),
                      let offsetDelta = reader.readVarint() else {
                    throw BatchError.corrupt("record \(records.count) does not parse")
                }
                let bodyStart = reader.position
                guard let key = reader.readLengthPrefixed(), let value = reader.readLengthPrefixed(),
                      reader.position <= end else {
                    throw BatchError.corrupt("record \(records.count) does not parse")
                }
                records.append(RetainableRecord(
                    offset: header.baseOffset + Int64(offsetDelta), timestamp: header.baseTimestamp + timestampDelta,
                    key: key.map { Array(bytes[$0]) }, hasValue: value != nil,
                    body: Array(bytes[bodyStart..<end])))
                reader.position = end
            }
            return records
        }
    }

    /// A batch holding `kept` (a non-empty subset of the original's records, in order). With `deleteHorizonMs`
    /// the base timestamp becomes the horizon and bit 6 is set; record timestamps stay what they were, their
    /// deltas being taken from the new base.
    public static func rebuild(_ original: RecordBatchHeader, keeping kept: [RetainableRecord],
                               deleteHorizonMs: Int64?) throws -> ByteBuffer {
        precondition(!kept.isEmpty, "an empty batch is written by emptyBatch")
        guard let codec = original.compression else {
            throw BatchError.unsupportedCompression(original.attributes & 0x7)
        }
        let baseTimestamp = deleteHorizonMs ?? kept[0].timestamp
        var plain: [UInt8] = []
        for record in kept {
            var head: [UInt8] = [0]  // record attributes: unused in magic 2
            VarintWriter.writeVarlong(record.timestamp - baseTimestamp, to: &head)
            VarintWriter.writeVarlong(record.offset - original.baseOffset, to: &head)
            VarintWriter.writeVarlong(Int64(head.count + record.body.count), to: &plain)
            plain += head
            plain += record.body
        }
        let section = try plain.withUnsafeBytes { try Codecs.compress(codec, $0) }
        var header = original
        header.attributes = (original.attributes & ~deleteHorizonFlag) | (deleteHorizonMs == nil ? 0 : deleteHorizonFlag)
        header.baseTimestamp = baseTimestamp
        // LogAppendTime batches carry the append time as their max timestamp whatever the records say.
        if !original.isLogAppendTime { header.maxTimestamp = kept.map(\.timestamp).max()! }
        header.recordCount = Int32(kept.count)
        header.batchLength = Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead + section.count)
        return sealed(header, section)
    }

    /// The header-only batch Kafka keeps when every record of an idempotent producer's last batch is cleaned
    /// away: its offsets and sequence numbers are what the producer's next append is checked against.
    public static func emptyBatch(_ original: RecordBatchHeader) -> ByteBuffer {
        var header = original
        header.attributes = original.attributes & ~(deleteHorizonFlag | 0x7)
        header.baseTimestamp = original.maxTimestamp
        header.recordCount = 0
        header.batchLength = Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead)
        return sealed(header, [])
    }

    private static func sealed(_ header: RecordBatchHeader, _ section: [UInt8]) -> ByteBuffer {
        var header = header
        var buffer = ByteBufferAllocator().buffer(capacity: RecordBatchHeader.size + section.count)
        header.write(to: &buffer)
        buffer.writeBytes(section)
        header.crc = buffer.withUnsafeReadableBytes { bytes in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.crcCoverageStart...]))
        }
        buffer.setInteger(header.crc, at: buffer.readerIndex + RecordBatchHeader.Field.crc)
        return buffer
    }
}

extension RecordBatchHeader {
    /// KIP-534: set by the log cleaner on batches holding tombstones; the base timestamp is then the horizon.
    public var hasDeleteHorizon: Bool { attributes & BatchRewriter.deleteHorizonFlag != 0 }
    public var deleteHorizonMs: Int64? { hasDeleteHorizon ? baseTimestamp : nil }
}
