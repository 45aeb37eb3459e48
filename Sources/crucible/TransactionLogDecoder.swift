import CrucibleTransactions
import CrucibleRecords
import NIOCore

/// `kafka-dump-log --transaction-log-decoder`: a `__transaction_state` record's key and value as the JSON Kafka's
/// TransactionLogMessageParser prints (`{"type":"0","data":{"transactionalId":...}}` and
/// `{"version":"0","data":{...}}`, fields in schema order), `<DELETE>` for a tombstone.
enum TransactionLogDecoder {
    static func format(_ record: Record) -> (key: String, payload: String?) {
        guard let key = record.key else {
            return ("Error at offset \(record.offset), skipping. The record had a missing key", nil)
        }
        do {
            guard let decoded = try TransactionLogRecord.decode(key: ByteBuffer(bytes: key), value: record.value.map { ByteBuffer(bytes: $0) })
            else { return ("Unknown record type \(OffsetsDecoder.version(key)) at offset \(record.offset), skipping.", nil) }
            let keyText = "{\"type\":\"\(OffsetsDecoder.version(key))\",\"data\":"
                + OffsetsDecoder.object([("transactionalId", AdminJSON.string(decoded.transactionalId))]) + "}"
            guard let value = decoded.value, let bytes = record.value else { return (keyText, "<DELETE>") }
            let byTopic = Dictionary(grouping: value.partitions, by: \.topic)
            let partitions = value.state == .empty ? "null" : "[" + byTopic.keys.sorted().map { topic in
                OffsetsDecoder.object([("topic", AdminJSON.string(topic)),
                                       ("partitionIds", "[" + byTopic[topic]!.map(\.partition).sorted().map(String.init).joined(separator: ",") + "]")])
            }.joined(separator: ",") + "]"
            let data = OffsetsDecoder.object([
                ("producerId", "\(value.producerId)"), ("producerEpoch", "\(value.producerEpoch)"),
                ("transactionTimeoutMs", "\(value.timeoutMs)"), ("transactionStatus", "\(value.state.rawValue)"),
                ("transactionPartitions", partitions), ("transactionLastUpdateTimestampMs", "\(value.lastUpdateMs)"),
                ("transactionStartTimestampMs", "\(value.startMs)"),
            ])
            return (keyText, "{\"version\":\"\(OffsetsDecoder.version(bytes))\",\"data\":\(data)}")
        } catch {
            return ("Error at offset \(record.offset), skipping. \(error)", nil)
        }
    }
}
