import CrucibleProtocol
import CrucibleRecords
import NIOCore

/// Where ListOffsets should look.
public enum OffsetSpec: Sendable {
    case earliest
    case latest
    /// The first offset whose timestamp is at or after this many ms since the epoch.
    case timestamp(Int64)

    var wireValue: Int64 {
        switch self {
        case .earliest: return -2
        case .latest: return -1
        case .timestamp(let ms): return ms
        }
    }
}

/// One partition's part of a Fetch answer.
public struct FetchedPartition: Sendable {
    public var partition: TopicPartition
    public var error: ErrorCode
    public var highWatermark: Int64
    public var logStartOffset: Int64
    /// Concatenated record batches; the last may be cut short by the size limit.
    public var records: ByteBuffer
}

/// A record as a consumer sees it.
public struct ConsumedRecord: Sendable {
    public var partition: TopicPartition
    public var offset: Int64
    public var timestamp: Int64
    /// Whether the broker stamped the time (LogAppendTime) rather than the producer (CreateTime).
    public var isLogAppendTime: Bool
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [RecordHeader]
}

extension FetchedPartition {
    /// The data records at or after `offset` (a compressed batch may start earlier), skipping control batches,
    /// and the offset to fetch next.
    public func records(from offset: Int64) throws -> (records: [ConsumedRecord], nextOffset: Int64) {
        var consumed: [ConsumedRecord] = []
        var next = offset
        for span in try RecordBatch.spans(in: records, allowPartialTail: true) where span.header.lastOffset >= offset {
            next = max(next, span.header.lastOffset + 1)
            guard !span.header.isControl else { continue }
            let header = span.header
            for record in try RecordBatch.records(span, in: records) where record.offset >= offset {
                consumed.append(ConsumedRecord(
                    partition: partition, offset: record.offset,
                    timestamp: header.isLogAppendTime ? header.maxTimestamp : record.timestamp,
                    isLogAppendTime: header.isLogAppendTime, key: record.key, value: record.value,
                    headers: record.headers))
            }
        }
        return (consumed, next)
    }
}

extension KafkaClient {
    /// Fetches from each partition's leader at once, waiting up to `maxWaitMs` for data. Partition errors
    /// (a moved leader, an offset out of range) come back in the results for the caller to act on.
    public func fetch(_ positions: [TopicPartition: Int64], maxWaitMs: Int32 = 500, minBytes: Int32 = 1,
                      maxBytes: Int32 = 50 << 20, partitionMaxBytes: Int32 = 1 << 20) throws -> [TopicPartition: FetchedPartition] {
        let responses = try callLeaders(positions.keys, extraWait: .milliseconds(Int64(maxWaitMs))) { owned, _ in
            var request = FetchRequest()
            request.maxWaitMs = maxWaitMs
            request.minBytes = minBytes
            request.maxBytes = maxBytes
            request.topics = Dictionary(grouping: owned, by: \.topic).sorted { $0.key < $1.key }.map { name, partitions in
                var topic = FetchRequest.FetchTopic()
                topic.topic = name
                topic.topicId = metadata?.topics[name]?.topicId ?? .zero
                topic.partitions = partitions.map { partition in
                    var entry = FetchRequest.FetchPartition()
                    entry.partition = partition.partition
                    entry.fetchOffset = positions[partition]!
                    entry.partitionMaxBytes = partitionMaxBytes
                    return entry
                }
                return topic
            }
            return request
        }
        var results: [TopicPartition: FetchedPartition] = [:]
        for (response, _) in responses {
            try ErrorCode(rawValue: response.errorCode).check("Fetch")
            for topic in response.responses {
                for data in topic.partitions {
                    let partition = TopicPartition(topic.topic, data.partitionIndex)
                    // Decoded records are always one in-memory slice; a null field means no records.
                    let records = data.records?.contiguousBytes ?? ByteBuffer()
                    results[partition] = FetchedPartition(
                        partition: partition, error: ErrorCode(rawValue: data.errorCode),
                        highWatermark: data.highWatermark, logStartOffset: data.logStartOffset, records: records)
                }
            }
        }
        return results
    }

    /// The offset `spec` names in each partition, asking each leader; a moved leader is looked up again.
    public func listOffsets(_ partitions: [TopicPartition], _ spec: OffsetSpec,
                            attempts: Int = 3) throws -> [TopicPartition: Int64] {
        for attempt in 1...attempts {
            do {
                return try listOffsetsOnce(partitions, spec)
            } catch let error as KafkaClientError where error.errorCode?.isStaleMetadata == true && attempt < attempts {
                try refreshMetadata(topics: Array(Set(partitions.map(\.topic))))
            }
        }
        preconditionFailure("the last attempt returns or throws")
    }

    private func listOffsetsOnce(_ partitions: [TopicPartition], _ spec: OffsetSpec) throws -> [TopicPartition: Int64] {
        let responses = try callLeaders(partitions) { owned, _ in
            var request = ListOffsetsRequest()
            request.replicaId = -1
            request.topics = Dictionary(grouping: owned, by: \.topic).sorted { $0.key < $1.key }.map { name, entries in
                var topic = ListOffsetsRequest.ListOffsetsTopic()
                topic.name = name
                topic.partitions = entries.map { partition in
                    var entry = ListOffsetsRequest.ListOffsetsPartition()
                    entry.partitionIndex = partition.partition
                    entry.timestamp = spec.wireValue
                    return entry
                }
                return topic
            }
            return request
        }
        var offsets: [TopicPartition: Int64] = [:]
        for (response, version) in responses {
            for topic in response.topics {
                for result in topic.partitions {
                    let partition = TopicPartition(topic.name, result.partitionIndex)
                    try ErrorCode(rawValue: result.errorCode).check("listing offsets of \(partition)")
                    // v0 answers with a list of offsets; later versions with one.
                    offsets[partition] = version == 0 ? result.oldStyleOffsets.first ?? -1 : result.offset
                }
            }
        }
        return offsets
    }
}
