import CrucibleGroups
import CrucibleProtocol
import CrucibleRecords
import CrucibleStorage
import NIOCore

/// Reading and writing `__consumer_offsets` partitions: the records a new coordinator loads, and the batch a
/// coordinator appends.
enum OffsetsTopicLog {
    static let topic = "__consumer_offsets"

    /// Topics the brokers write themselves: reported as internal, and closed to producers.
    static func isInternal(_ name: String) -> Bool { name == topic }

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
        var records: [OffsetsTopicRecord] = []
        var offset = log.logStartOffset
        let end = log.logEndOffset
        while offset < end {
            let bytes = try log.readBytes(from: offset, maxBytes: 4 << 20, endOffset: end)
            let spans = try RecordBatch.spans(in: bytes, allowPartialTail: true)
            guard let last = spans.last else { break }
            for span in spans where !span.header.isControl {
                for record in try RecordBatch.records(span, in: bytes) {
                    guard let key = record.key else { continue }
                    do {
                        if let decoded = try OffsetsTopicRecord.decode(key: ByteBuffer(bytes: key),
                                                                       value: record.value.map { ByteBuffer(bytes: $0) }) {
                            records.append(decoded)
                        }
                    } catch {
                        skipped("offset \(record.offset): \(error)")
                    }
                }
            }
            offset = last.header.lastOffset + 1
        }
        return records
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
