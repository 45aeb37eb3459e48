import CrucibleProtocol
import CrucibleRecords
import CrucibleStorage
import NIOCore

/// The metadata log `__cluster_metadata-0`, stored like any partition: record batches whose record values are
/// framed metadata records. In a single-node cluster it is written directly; with a quorum, Raft owns it.
public final class MetadataLog {
    public static let directoryName = "__cluster_metadata-0"
    let log: PartitionLog

    public init(directory: String, nowMs: Int64) throws {
        var config = LogConfig()
        config.segmentBytes = 64 << 20
        config.retentionMs = -1
        config.maxMessageBytes = 8 << 20
        log = try PartitionLog(directory: directory + "/" + Self.directoryName, topic: "__cluster_metadata",
                               partition: 0, config: config, recoveryPoint: 0, nowMs: nowMs)
    }

    public var endOffset: Int64 { log.logEndOffset }

    /// Appends records as one batch and fsyncs before returning: metadata is acknowledged only when durable.
    /// Returns the offset of the first record.
    @discardableResult
    public func append(_ records: [MetadataRecordFrame], epoch: Int32, nowMs: Int64) throws -> Int64 {
        precondition(!records.isEmpty)
        var builder = RecordBatchBuilder(codec: .none)
        for frame in records {
            var encoder = KafkaEncoder()
            frame.encode(to: &encoder)
            builder.append(Record(timestamp: nowMs, key: nil, value: Array(encoder.finishContiguous().readableBytesView)))
        }
        var batch = try builder.build()
        let span = BatchSpan(header: RecordBatchHeader(batch, at: batch.readerIndex)!, start: batch.readerIndex)
        let result = try log.appendAsLeader(&batch, span: span, leaderEpoch: epoch, nowMs: nowMs)
        try log.flush(nowMs: nowMs)
        return result.baseOffset
    }

    /// Every record in the log with its offset, in order; `batchStart` marks the first record of each batch.
    public func replay() throws -> [(offset: Int64, frame: MetadataRecordFrame, batchStart: Bool)] {
        let bytes = try log.readBytes(from: log.logStartOffset, maxBytes: Int.max / 2, endOffset: log.logEndOffset)
        var out: [(Int64, MetadataRecordFrame, Bool)] = []
        for span in try RecordBatch.spans(in: bytes, allowPartialTail: false) {
            for (index, record) in try RecordBatch.records(span, in: bytes).enumerated() {
                guard let value = record.value else { continue }
                var buffer = ByteBuffer(bytes: value)
                out.append((record.offset, try MetadataRecordFrame.decode(from: &buffer), index == 0))
            }
        }
        return out
    }

    public func close(nowMs: Int64) throws {
        try log.close(nowMs: nowMs)
    }
}
