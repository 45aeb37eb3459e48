import CrucibleProtocol
import CrucibleRecords
import CrucibleStorage
import CrucibleTransactions
import NIOCore

/// Reading and writing `__transaction_state` partitions: the records a new coordinator loads, and the batch it
/// appends. A transactional id lives on the partition Kafka's hashing gives (as groups do on theirs).
enum TransactionStateLog {
    static let topic = "__transaction_state"

    static func partition(for transactionalId: String, partitions: Int32) -> Int32 {
        OffsetsTopicLog.partition(for: transactionalId, partitions: partitions)
    }

    /// Every record from the log start to its end, in log order; records that do not decode are skipped
    /// (reported through `skipped`).
    static func load(_ log: PartitionLog, skipped: (String) -> Void) throws -> [TransactionLogRecord] {
        try InternalTopicLog.entries(of: log).compactMap { entry in
            guard case .record(let offset, let key, let value, _) = entry else { return nil }
            do {
                return try TransactionLogRecord.decode(key: key, value: value)
            } catch {
                skipped("offset \(offset): \(error)")
                return nil
            }
        }
    }

    static func batch(_ record: TransactionLogRecord, nowMs: Int64) throws -> ByteBuffer {
        var builder = RecordBatchBuilder()
        builder.append(Record(timestamp: nowMs, key: Array(record.encodeKey().readableBytesView),
                              value: record.encodeValue().map { Array($0.readableBytesView) }))
        return try builder.build()
    }
}

enum InternalTopicLog {
    /// Topics the brokers write themselves: reported as internal, and closed to producers.
    static func isInternal(_ name: String) -> Bool { name == OffsetsTopicLog.topic || name == TransactionStateLog.topic }

    enum Entry {
        /// A keyed record, with the producer whose transaction wrote it, if one did.
        case record(offset: Int64, key: ByteBuffer, value: ByteBuffer?, transactionalProducer: Int64?)
        case marker(producerId: Int64, commit: Bool)
    }

    /// The keyed records and transaction markers of an internal topic's partition, from its start to its end.
    static func entries(of log: PartitionLog) throws -> [Entry] {
        var entries: [Entry] = []
        var offset = log.logStartOffset
        let end = log.logEndOffset
        while offset < end {
            let bytes = try log.readBytes(from: offset, maxBytes: 4 << 20, endOffset: end)
            let spans = try RecordBatch.spans(in: bytes, allowPartialTail: true)
            guard let last = spans.last else { break }
            for span in spans {
                let header = span.header
                for record in try RecordBatch.records(span, in: bytes) {
                    if header.isControl {
                        if let (marker, _) = ControlRecord.marker(in: record) {
                            entries.append(.marker(producerId: header.producerId, commit: marker == .commit))
                        }
                        continue
                    }
                    guard let key = record.key else { continue }
                    entries.append(.record(offset: record.offset, key: ByteBuffer(bytes: key), value: record.value.map { ByteBuffer(bytes: $0) },
                                           transactionalProducer: header.isTransactional ? header.producerId : nil))
                }
            }
            offset = last.header.lastOffset + 1
        }
        return entries
    }
}
