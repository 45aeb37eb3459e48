import CrucibleGroups
import CrucibleProtocol
import CrucibleRecords
import CrucibleStorage
import NIOCore

/// Reading and writing `__consumer_offsets` partitions: the records a new coordinator loads, and the batch a
/// coordinator appends.
enum OffsetsTopicLog {
    static let topic = "__consumer_offsets"

    /// Kafka's `Utils.abs(groupId.hashCode()) % partitions`, with Java's `String.hashCode` over UTF-16 units, so
    /// a group lands on the partition Kafka's tools and clients expect.
    static func partition(for groupId: String, partitions: Int32) -> Int32 {
        var hash: Int32 = 0
        for unit in groupId.utf16 { hash = hash &* 31 &+ Int32(unit) }
        let positive = hash == Int32.min ? 0 : abs(hash)
        return positive % partitions
    }

    /// Every record from the log start to its end, in log order; records that do not decode are skipped
    /// (reported through `skipped`).
    static func load(_ log: PartitionLog, skipped: (String) -> Void) throws -> [OffsetsTopicEntry] {
        try InternalTopicLog.entries(of: log).compactMap { entry in
            switch entry {
            case .marker(let producerId, let commit):
                return .marker(producerId: producerId, commit: commit)
            case .record(let offset, let key, let value, let producer):
                do {
                    guard let record = try OffsetsTopicRecord.decode(key: key, value: value) else { return nil }
                    return producer.map { .transactional(producerId: $0, record) } ?? .record(record)
                } catch {
                    skipped("offset \(offset): \(error)")
                    return nil
                }
            }
        }
    }

    /// One uncompressed batch holding `records` (Kafka's offsets.topic.compression.codec defaults to none); a
    /// transaction's carries its producer's id and epoch, and no sequence.
    static func batch(_ records: [OffsetsTopicRecord], nowMs: Int64, transaction: (producerId: Int64, epoch: Int16)? = nil) throws -> ByteBuffer {
        var builder = RecordBatchBuilder()
        if let transaction {
            builder.isTransactional = true
            builder.producerId = transaction.producerId
            builder.producerEpoch = transaction.epoch
        }
        for record in records {
            builder.append(Record(timestamp: nowMs, key: Array(record.encodeKey().readableBytesView),
                                  value: record.encodeValue().map { Array($0.readableBytesView) }))
        }
        return try builder.build()
    }
}
