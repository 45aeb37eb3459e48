import CrucibleGroups
import CrucibleProtocol
import NIOCore

/// One record of `__transaction_state` in Kafka's own format, so Kafka's `--transaction-log-decoder` reads ours:
/// key {version i16 = 0, transactionalId string}; value v0 {producerId i64, producerEpoch i16,
/// transactionTimeoutMs i32, transactionStatus i8, transactionPartitions [topic string, [partition i32]] (null
/// when Empty), lastUpdateTimestampMs i64, startTimestampMs i64}. v1 is the same, flexible (compact strings and
/// arrays, tagged fields, which are skipped). A null value is the tombstone of an expired transactional id.
public struct TransactionLogRecord: Equatable, Sendable {
    public var transactionalId: String
    public var value: TransactionLogValue?

    /// The value version written: Kafka writes v0 until transaction.version 2 (KIP-890 part 2), which this
    /// broker does not serve.
    public static let valueVersion: Int16 = 0

    public init(transactionalId: String, value: TransactionLogValue?) {
        self.transactionalId = transactionalId
        self.value = value
    }

    public func encodeKey() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeKafkaInt16(0)
        buffer.writeKafkaString(transactionalId, compact: false)
        return buffer
    }

    public func encodeValue() -> ByteBuffer? { value?.encode() }

    /// Decodes one record; nil for a key version this topic does not hold.
    public static func decode(key: ByteBuffer, value: ByteBuffer?) throws -> TransactionLogRecord? {
        var key = key
        guard try key.readKafkaInt16() == 0 else { return nil }
        return TransactionLogRecord(transactionalId: try key.readKafkaString(compact: false),
                                    value: try value.map(TransactionLogValue.decode))
    }
}

public struct TransactionLogValue: Equatable, Sendable {
    public var producerId: Int64
    public var producerEpoch: Int16
    public var timeoutMs: Int32
    public var state: TxnState
    public var partitions: [TopicPartitionKey]
    public var lastUpdateMs: Int64
    public var startMs: Int64

    public init(producerId: Int64, producerEpoch: Int16, timeoutMs: Int32, state: TxnState, partitions: [TopicPartitionKey],
                lastUpdateMs: Int64, startMs: Int64) {
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.timeoutMs = timeoutMs
        self.state = state
        self.partitions = partitions
        self.lastUpdateMs = lastUpdateMs
        self.startMs = startMs
    }

    func encode() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeKafkaInt16(TransactionLogRecord.valueVersion)
        buffer.writeKafkaInt64(producerId)
        buffer.writeKafkaInt16(producerEpoch)
        buffer.writeKafkaInt32(timeoutMs)
        buffer.writeKafkaInt8(state.rawValue)
        if state == .empty {
            buffer.writeKafkaInt32(-1)
        } else {
            let byTopic = Dictionary(grouping: partitions, by: \.topic)
            buffer.writeKafkaInt32(Int32(byTopic.count))
            for topic in byTopic.keys.sorted() {
                buffer.writeKafkaString(topic, compact: false)
                let indexes = byTopic[topic]!.map(\.partition).sorted()
                buffer.writeKafkaInt32(Int32(indexes.count))
                for index in indexes { buffer.writeKafkaInt32(index) }
            }
        }
        buffer.writeKafkaInt64(lastUpdateMs)
        buffer.writeKafkaInt64(startMs)
        return buffer
    }

    static func decode(_ buffer: ByteBuffer) throws -> TransactionLogValue {
        var buffer = buffer
        let version = try buffer.readKafkaInt16()
        guard version == 0 || version == 1 else { throw KafkaProtocolError("TransactionLogValue version \(version)") }
        let flexible = version >= 1
        let producerId = try buffer.readKafkaInt64()
        let producerEpoch = try buffer.readKafkaInt16()
        let timeoutMs = try buffer.readKafkaInt32()
        let rawState = try buffer.readKafkaInt8()
        guard let state = TxnState(rawValue: rawState) else { throw KafkaProtocolError("transaction status \(rawState)") }
        let topics = try buffer.readKafkaNullableArray(compact: flexible) { entry -> [TopicPartitionKey] in
            let topic = try entry.readKafkaString(compact: flexible)
            let indexes = try entry.readKafkaArray(compact: flexible) { try $0.readKafkaInt32() }
            if flexible { try entry.skipKafkaTaggedFields() }
            return indexes.map { TopicPartitionKey(topic, $0) }
        }
        let lastUpdateMs = try buffer.readKafkaInt64()
        let startMs = try buffer.readKafkaInt64()
        return TransactionLogValue(producerId: producerId, producerEpoch: producerEpoch, timeoutMs: timeoutMs, state: state,
                                   partitions: (topics ?? []).flatMap { $0 }, lastUpdateMs: lastUpdateMs, startMs: startMs)
    }
}
