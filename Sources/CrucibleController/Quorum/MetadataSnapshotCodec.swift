import CrucibleProtocol
import CrucibleRecords
import NIOCore

/// The bytes of a metadata snapshot (a `.checkpoint` file, and what FetchSnapshot transfers): record batches, a
/// SnapshotHeader control batch and then the image's records. Their Kafka record offsets end just below the
/// snapshot's record end offset, so replaying them numbers the image exactly as the log it replaces would.
enum MetadataSnapshotCodec {
    static let snapshotHeaderControlType: Int16 = 3

    static func encode(_ records: [any KafkaMetadataRecord], recordEnd: Int64, nowMs: Int64) throws -> [UInt8] {
        // Every image record stands for at least one distinct log record, and the first LeaderChange stands for
        // none, so the offsets below never go negative.
        let headerOffset = max(0, recordEnd - Int64(records.count) - 1)
        var header = ByteBuffer()
        header.writeKafkaInt16(0)
        header.writeKafkaInt64(nowMs)
        header.writeUnsignedVarint(0)
        var out = try MetadataEntryCodec.controlBatch(type: snapshotHeaderControlType,
                                                      value: Array(header.readableBytesView), baseOffset: headerOffset)
        if !records.isEmpty {
            var batch = ByteBuffer(bytes: try MetadataEntryCodec.proposalPayload(records, nowMs: nowMs))
            RecordBatchHeader.assign(baseOffset: headerOffset + 1, leaderEpoch: -1, in: &batch, at: batch.readerIndex)
            out.writeBuffer(&batch)
        }
        return Array(out.readableBytesView)
    }

    /// The image's records and the Kafka record offset the snapshot ends at.
    static func decode(_ bytes: [UInt8]) throws -> (recordEnd: Int64, records: [any KafkaMetadataRecord]) {
        let buffer = ByteBuffer(bytes: bytes)
        guard let last = try RecordBatch.spans(in: buffer, allowPartialTail: false).last else {
            throw KafkaProtocolError("empty metadata snapshot")
        }
        return (last.header.lastOffset + 1, try MetadataEntryCodec.metadataRecords(inBatches: buffer))
    }
}
