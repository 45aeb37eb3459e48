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
    static func load(_ log: PartitionLog, skipped: (String) -> Void) throws -> [OffsetsTopicRecord] {
        try InternalTopicLog.records(of: log).compactMap { offset, key, value in
            do {
                return try OffsetsTopicRecord.decode(key: key, value: value)
            } catch {
                skipped("offset \(offset): \(error)")
                return nil
            }
        }
    }

    /// One uncompressed batch holding `records` (Kafka's offsets.topic.compression.codec defaults to none).
    static func batch(_ records: [OffsetsTopicRecord], nowMs: Int64) throws -> ByteBuffer {
        var builder = RecordBatchBuilder()
        for record in records {
            builder.append(Record(timestamp: nowMs, key: Array(record.encodeKey().readableBytesView),
                                  value: record.encodeValue().map { Array($0.readableBytesView) }))
        }
        return try builder.build()
    }
}
