import NIOCore

/// The one record of a control batch. Its key is {version i16 = 0, type i16}. Kafka's transaction markers are
/// types 0 (ABORT) and 1 (COMMIT), valued {version i16 = 0, coordinatorEpoch i32}, in a batch that is both control
/// and transactional and carries the producer's id and epoch; KRaft's metadata log uses types 2 (leader change)
/// and 3 and 4 (snapshot header and footer).
public enum ControlRecord {
    public enum Marker: Int16, Sendable, Equatable {
        case abort = 0
        case commit = 1
    }

    public static func key(type: Int16) -> [UInt8] {
        [0, 0, UInt8(truncatingIfNeeded: UInt16(bitPattern: type) >> 8), UInt8(truncatingIfNeeded: type)]
    }

    /// The control type a record's key names, or nil for a key too short to be one.
    public static func type(ofKey key: [UInt8]?) -> Int16? {
        guard let key, key.count >= 4 else { return nil }
        return Int16(bitPattern: UInt16(key[2]) << 8 | UInt16(key[3]))
    }

    /// A control batch of one record with this type and value, outside any transaction (the metadata log's).
    public static func batch(type: Int16, value: [UInt8], baseOffset: Int64 = 0) throws -> ByteBuffer {
        var builder = RecordBatchBuilder(codec: .none)
        builder.isControl = true
        builder.append(Record(timestamp: 0, key: key(type: type), value: value))
        return try builder.build(baseOffset: baseOffset)
    }

    /// The marker a transaction coordinator has a partition's leader write when the producer's transaction ends:
    /// no sequence (markers are not part of the producer's sequence), the producer's id and epoch.
    public static func endTransactionBatch(_ marker: Marker, coordinatorEpoch: Int32, producerId: Int64,
                                           producerEpoch: Int16, timestamp: Int64, baseOffset: Int64 = 0) throws -> ByteBuffer {
        var builder = RecordBatchBuilder(codec: .none)
        builder.isControl = true
        builder.isTransactional = true
        builder.producerId = producerId
        builder.producerEpoch = producerEpoch
        let epoch = UInt32(bitPattern: coordinatorEpoch)
        let value: [UInt8] = [0, 0, UInt8(epoch >> 24), UInt8(truncatingIfNeeded: epoch >> 16),
                              UInt8(truncatingIfNeeded: epoch >> 8), UInt8(truncatingIfNeeded: epoch)]
        builder.append(Record(timestamp: timestamp, key: key(type: marker.rawValue), value: value))
        return try builder.build(baseOffset: baseOffset)
    }

    /// The transaction marker a control record holds, or nil when it holds another control type or is malformed.
    public static func marker(in record: Record) -> (marker: Marker, coordinatorEpoch: Int32)? {
        guard let type = type(ofKey: record.key), let marker = Marker(rawValue: type),
              let value = record.value, value.count >= 6 else { return nil }
        let epoch = value[2..<6].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return (marker, Int32(bitPattern: epoch))
    }
}
