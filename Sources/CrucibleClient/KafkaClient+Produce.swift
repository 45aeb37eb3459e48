import CrucibleProtocol
import NIOCore

extension KafkaClient {
    /// Appends one record batch per partition (built with `RecordBatchBuilder`) and returns each batch's base
    /// offset (-1 with acks=0, which gets no answer). Partitions whose leader moved are retried against the new
    /// leader: the broker refused those batches, so a retry cannot duplicate them. Any other error throws.
    public func produce(_ batches: [TopicPartition: ByteBuffer], acks: Int16, timeoutMs: Int32 = 30_000,
                        attempts: Int = 3) throws -> [TopicPartition: Int64] {
        var remaining = batches
        var offsets: [TopicPartition: Int64] = [:]
        for attempt in 1...attempts {
            if acks == 0 {
                try sendUnacknowledged(remaining, timeoutMs: timeoutMs)
                return remaining.mapValues { _ in -1 }
            }
            let responses = try callLeaders(remaining.keys, extraWait: .milliseconds(Int64(timeoutMs))) { owned, _ in
                Self.produceRequest(owned.map { ($0, remaining[$0]!) }, acks: acks, timeoutMs: timeoutMs)
            }
            var retry: [TopicPartition: ByteBuffer] = [:]
            for (response, _) in responses {
                for topic in response.responses {
                    for result in topic.partitionResponses {
                        let partition = TopicPartition(topic.name, result.index)
                        let error = ErrorCode(rawValue: result.errorCode)
                        guard let batch = remaining[partition] else { continue }
                        if error == .none {
                            offsets[partition] = result.baseOffset
                        } else if error.isStaleMetadata && attempt < attempts {
                            retry[partition] = batch
                        } else {
                            throw KafkaClientError.kafka(error, message: result.errorMessage ?? "producing to \(partition)")
                        }
                    }
                }
            }
            let unanswered = Set(remaining.keys).subtracting(offsets.keys).subtracting(retry.keys)
            guard unanswered.isEmpty else {
                throw KafkaClientError.malformedResponse("Produce answer does not name \(unanswered.sorted())")
            }
            if retry.isEmpty { break }
            remaining = retry
            try refreshMetadata(topics: Array(Set(retry.keys.map(\.topic))))
        }
        return offsets
    }

    private func sendUnacknowledged(_ batches: [TopicPartition: ByteBuffer], timeoutMs: Int32) throws {
        let writes = try leaders(of: batches.keys).map { leader, owned in
            try connection(to: leader).sendWithoutResponse(
                Self.produceRequest(owned.map { ($0, batches[$0]!) }, acks: 0, timeoutMs: timeoutMs))
        }
        for write in writes { try write.wait() }
    }

    static func produceRequest(_ batches: [(TopicPartition, ByteBuffer)], acks: Int16, timeoutMs: Int32) -> ProduceRequest {
        var request = ProduceRequest()
        request.acks = acks
        request.timeoutMs = timeoutMs
        request.topicData = Dictionary(grouping: batches, by: { $0.0.topic }).sorted { $0.key < $1.key }.map { name, entries in
            var topic = ProduceRequest.TopicProduceData()
            topic.name = name
            topic.partitionData = entries.map { partition, batch in
                var data = ProduceRequest.PartitionProduceData()
                data.index = partition.partition
                data.records = KafkaRecords(batch)
                return data
            }
            return topic
        }
        return request
    }
}
