import CrucibleProtocol
import CrucibleRaft
import CrucibleRecords
import NIOCore

/// How a Raft entry of the metadata log looks as a Kafka record batch, on disk and on the wire.
///
/// One entry is one batch, so a command's records commit atomically. Raft counts entries (offset n is the n-th
/// batch), while a Kafka log counts records; the batch header carries the Kafka record offset (its `baseOffset`)
/// and the entry's epoch (`partitionLeaderEpoch`), so the stored log is an ordinary Kafka log. A new leader's
/// LeaderChange entry is a control batch with one record (control type 2), as in KRaft.
enum MetadataEntryCodec {
    static let leaderChangeControlType: Int16 = 2

    /// The batch for a proposal; offsets and epoch are stamped when the entry is written.
    static func proposalPayload(_ records: [any KafkaMetadataRecord], nowMs: Int64) throws -> [UInt8] {
        var builder = RecordBatchBuilder(codec: .none)
        for record in records {
            var encoder = KafkaEncoder()
            MetadataRecordFrame(record: record, version: type(of: record).validVersions.upperBound).encode(to: &encoder)
            builder.append(Record(timestamp: nowMs, key: nil, value: Array(encoder.finishContiguous().readableBytesView)))
        }
        let batch = try builder.build()
        return Array(batch.readableBytesView)
    }

    /// The entry as one batch at Kafka record offset `recordBase`.
    static func batch(for entry: RaftEntry, recordBase: Int64) throws -> ByteBuffer {
        var batch: ByteBuffer
        switch entry.payload {
        case .records(let bytes):
            batch = ByteBuffer(bytes: bytes)
        case .leaderChange(let leader, let voters):
            batch = try controlBatch(type: leaderChangeControlType,
                                     value: leaderChangeMessage(leader: leader, voters: voters))
        }
        RecordBatchHeader.assign(baseOffset: recordBase, leaderEpoch: entry.epoch, in: &batch, at: batch.readerIndex)
        return batch
    }

    /// How many Kafka record offsets the entry occupies.
    static func recordCount(of entry: RaftEntry) -> Int64 {
        switch entry.payload {
        case .records(let bytes):
            guard let header = RecordBatchHeader(ByteBuffer(bytes: bytes), at: 0) else { return 1 }
            return Int64(header.lastOffsetDelta) + 1
        case .leaderChange:
            return 1
        }
    }

    /// Splits record batches back into entries, the first at Raft offset `firstOffset`.
    static func entries(in batches: ByteBuffer, firstOffset: Int64) throws -> [RaftEntry] {
        try RecordBatch.spans(in: batches, allowPartialTail: false).enumerated().map { index, span in
            let offset = firstOffset + Int64(index)
            let epoch = span.header.partitionLeaderEpoch
            guard span.header.isControl else {
                let bytes = batches.getSlice(at: span.start, length: span.size)!
                return RaftEntry(offset: offset, epoch: epoch, payload: .records(Array(bytes.readableBytesView)))
            }
            guard let record = try RecordBatch.records(span, in: batches).first, let value = record.value else {
                throw KafkaProtocolError("empty control batch at entry \(offset)")
            }
            let (leader, voters) = try parseLeaderChange(value)
            return RaftEntry(offset: offset, epoch: epoch, payload: .leaderChange(leaderID: leader, voters: voters))
        }
    }

    /// The metadata records an entry carries (none for a LeaderChange).
    static func metadataRecords(of entry: RaftEntry) throws -> [any KafkaMetadataRecord] {
        guard case .records(let bytes) = entry.payload else { return [] }
        return try metadataRecords(inBatches: ByteBuffer(bytes: bytes))
    }

    static func metadataRecords(inBatches bytes: ByteBuffer) throws -> [any KafkaMetadataRecord] {
        var out: [any KafkaMetadataRecord] = []
        for span in try RecordBatch.spans(in: bytes, allowPartialTail: false) where !span.header.isControl {
            for record in try RecordBatch.records(span, in: bytes) {
                guard let value = record.value else { continue }
                var buffer = ByteBuffer(bytes: value)
                out.append(try MetadataRecordFrame.decode(from: &buffer).record)
            }
        }
        return out
    }

    /// A control batch of one record: key {version 0, type}, then the control message.
    static func controlBatch(type: Int16, value: [UInt8], baseOffset: Int64 = 0) throws -> ByteBuffer {
        try ControlRecord.batch(type: type, value: value, baseOffset: baseOffset)
    }

    // MARK: LeaderChangeMessage (flexible v0: version, leader id, voters, granting voters)

    private static func leaderChangeMessage(leader: RaftNodeID, voters: [RaftNodeID]) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeKafkaInt16(0)
        buffer.writeKafkaInt32(leader)
        for _ in 0..<2 {  // voters, then granting voters (not tracked: the same list)
            buffer.writeUnsignedVarint(UInt32(voters.count + 1))
            for voter in voters {
                buffer.writeKafkaInt32(voter)
                buffer.writeUnsignedVarint(0)
            }
        }
        buffer.writeUnsignedVarint(0)
        return Array(buffer.readableBytesView)
    }

    private static func parseLeaderChange(_ bytes: [UInt8]) throws -> (RaftNodeID, [RaftNodeID]) {
        var buffer = ByteBuffer(bytes: bytes)
        _ = try buffer.readKafkaInt16()
        let leader = try buffer.readKafkaInt32()
        let voters = try buffer.readKafkaArray(compact: true) { item -> Int32 in
            let id = try item.readKafkaInt32()
            try item.skipKafkaTaggedFields()
            return id
        }
        return (leader, voters)
    }
}
