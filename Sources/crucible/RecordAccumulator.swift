import CrucibleClient
import CrucibleRecords
import NIOCore

/// Groups a producer's records into one batch per partition, as Kafka's producer does: keyed records go where
/// murmur2 sends them, null-key records stick to one partition until the batches are sent (KIP-480), then move.
struct RecordAccumulator {
    let topic: String
    let partitionCount: Int
    let codec: CompressionCodec
    /// A batch this large (uncompressed estimate) is sent without waiting for linger (`batch.size`).
    let batchBytes: Int
    private var pending: [Int32: [Record]] = [:]
    private var pendingBytes: [Int32: Int] = [:]
    private var stickyPartition: Int32

    init(topic: String, partitionCount: Int, codec: CompressionCodec, batchBytes: Int) {
        self.topic = topic
        self.partitionCount = partitionCount
        self.codec = codec
        self.batchBytes = batchBytes
        stickyPartition = Int32.random(in: 0..<Int32(partitionCount))
    }

    var isEmpty: Bool { pending.isEmpty }
    var isFull: Bool { pendingBytes.values.contains { $0 >= batchBytes } }

    mutating func append(key: [UInt8]?, value: [UInt8]?, timestamp: Int64) {
        let partition = key.map { Murmur2Partitioner.partition(forKey: $0, partitionCount: partitionCount) } ?? stickyPartition
        pending[partition, default: []].append(Record(timestamp: timestamp, key: key, value: value))
        pendingBytes[partition, default: 0] += (key?.count ?? 0) + (value?.count ?? 0) + 16
    }

    /// One encoded batch per partition with records, and the accumulator emptied.
    mutating func drain() throws -> [TopicPartition: ByteBuffer] {
        var batches: [TopicPartition: ByteBuffer] = [:]
        for (partition, records) in pending {
            var builder = RecordBatchBuilder(codec: codec)
            for record in records { builder.append(record) }
            batches[TopicPartition(topic, partition)] = try builder.build()
        }
        pending = [:]
        pendingBytes = [:]
        if partitionCount > 1 {
            let next = Int32.random(in: 0..<Int32(partitionCount - 1))
            stickyPartition = next >= stickyPartition ? next + 1 : next
        }
        return batches
    }
}
