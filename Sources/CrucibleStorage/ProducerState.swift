import CrucibleMutations
import CrucibleRecords
import NIOCore

/// What an idempotent producer's batch means for a partition, decided before it is appended.
public enum SequenceVerdict: Equatable, Sendable {
    case append
    /// A retry of a batch already in the log: answer with its original offsets, append nothing.
    case duplicate(baseOffset: Int64)
    case outOfOrder(String)
    case fencedEpoch(String)
}

/// What DescribeProducers reports of one producer.
public struct ActiveProducer: Sendable, Equatable {
    public var producerId: Int64
    public var epoch: Int16
    public var lastSequence: Int32
    public var lastTimestamp: Int64
}

/// Per-producer state on one partition: its epoch and the last five batches, which is how far back Kafka
/// recognises retries (`max.in.flight.requests.per.connection` <= 5 for idempotence).
struct ProducerEntry: Equatable {
    static let batchesKept = 5
    var epoch: Int16
    var batches: [(firstSequence: Int32, lastSequence: Int32, firstOffset: Int64, lastOffset: Int64)]
    /// The max timestamp of its last batch; -1 when only known from a snapshot (not persisted).
    var lastTimestamp: Int64 = -1

    static func == (a: ProducerEntry, b: ProducerEntry) -> Bool {
        a.epoch == b.epoch && a.batches.elementsEqual(b.batches) { $0 == $1 }
    }

    var lastSequence: Int32 { batches.last?.lastSequence ?? -1 }
}

/// Sequence checks for idempotent producers, following Kafka's ProducerStateManager: duplicates of the last
/// five batches are answered from the log, a gap or reorder is OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch is
/// INVALID_PRODUCER_EPOCH, and a producer the partition has never seen may start at any sequence.
public struct ProducerStateTable: Sendable {
    private(set) var producers: [Int64: ProducerEntry] = [:]

    public init() {}

    public var count: Int { producers.count }

    public func check(_ header: RecordBatchHeader) -> SequenceVerdict {
        guard header.hasProducerId else { return .append }
        guard let entry = producers[header.producerId] else { return .append }
        if header.producerEpoch < entry.epoch {
            return .fencedEpoch("epoch \(header.producerEpoch) is older than \(entry.epoch)")
        }
        if header.producerEpoch > entry.epoch {
            return header.baseSequence == 0 ? .append
                : .outOfOrder("new epoch \(header.producerEpoch) must start at sequence 0, not \(header.baseSequence)")
        }
        if let original = entry.batches.first(where: {
            $0.firstSequence == header.baseSequence && $0.lastSequence == header.lastSequence
        }) {
            return Mutation.acceptDuplicateSequences.isActive ? .append : .duplicate(baseOffset: original.firstOffset)
        }
        let expected = entry.lastSequence == Int32.max ? 0 : entry.lastSequence + 1
        guard header.baseSequence == expected else {
            let cached = entry.batches.map { "\($0.firstSequence)-\($0.lastSequence)@\($0.firstOffset)" }
            return .outOfOrder("producer \(header.producerId) epoch \(header.producerEpoch): expected sequence \(expected), "
                               + "got \(header.baseSequence)-\(header.lastSequence) (batches kept: \(cached.joined(separator: ", ")))")
        }
        return .append
    }

    /// Records a batch that is now in the log (on append, and when rebuilding from the log).
    public mutating func update(_ header: RecordBatchHeader) {
        guard header.hasProducerId else { return }
        var entry = producers[header.producerId] ?? ProducerEntry(epoch: header.producerEpoch, batches: [])
        if header.producerEpoch != entry.epoch {
            entry = ProducerEntry(epoch: header.producerEpoch, batches: [])
        }
        // (The planted duplicate-accepting bug keeps the sequence where it was, so the producer's next batch fits.)
        if Mutation.acceptDuplicateSequences.isActive, entry.batches.contains(where: { $0.lastSequence == header.lastSequence }) {
            return
        }
        entry.batches.append((header.baseSequence, header.lastSequence, header.baseOffset, header.lastOffset))
        if entry.batches.count > ProducerEntry.batchesKept { entry.batches.removeFirst() }
        entry.lastTimestamp = header.maxTimestamp
        producers[header.producerId] = entry
    }

    public mutating func removeAll() { producers.removeAll() }

    public var active: [ActiveProducer] {
        producers.sorted { $0.key < $1.key }.map { id, entry in
            ActiveProducer(producerId: id, epoch: entry.epoch, lastSequence: entry.lastSequence,
                           lastTimestamp: entry.lastTimestamp)
        }
    }

    // Snapshot file: "CPS1", entry count, then per producer: id, epoch, batch count, batches.
    func serialized() -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: 16 + producers.count * 64)
        buffer.writeBytes(Array("CPS1".utf8))
        buffer.writeInteger(Int32(producers.count))
        for (id, entry) in producers.sorted(by: { $0.key < $1.key }) {
            buffer.writeInteger(id)
            buffer.writeInteger(entry.epoch)
            buffer.writeInteger(Int8(entry.batches.count))
            for batch in entry.batches {
                buffer.writeInteger(batch.firstSequence)
                buffer.writeInteger(batch.lastSequence)
                buffer.writeInteger(batch.firstOffset)
                buffer.writeInteger(batch.lastOffset)
            }
        }
        let crc = buffer.withUnsafeReadableBytes { CRC32C.checksum($0) }
        buffer.writeInteger(crc)
        return Array(buffer.readableBytesView)
    }

    init?(serialized bytes: [UInt8]) {
        guard bytes.count >= 12 else { return nil }
        let crc = bytes.prefix(bytes.count - 4).withUnsafeBytes { CRC32C.checksum($0) }
        var buffer = ByteBufferAllocator().buffer(bytes: bytes)
        guard buffer.readBytes(length: 4) == Array("CPS1".utf8), let count = buffer.readInteger(as: Int32.self),
              count >= 0 else { return nil }
        for _ in 0..<count {
            guard let id = buffer.readInteger(as: Int64.self), let epoch = buffer.readInteger(as: Int16.self),
                  let batches = buffer.readInteger(as: Int8.self), batches >= 0 else { return nil }
            var entry = ProducerEntry(epoch: epoch, batches: [])
            for _ in 0..<batches {
                guard let first = buffer.readInteger(as: Int32.self), let last = buffer.readInteger(as: Int32.self),
                      let firstOffset = buffer.readInteger(as: Int64.self),
                      let lastOffset = buffer.readInteger(as: Int64.self) else { return nil }
                entry.batches.append((first, last, firstOffset, lastOffset))
            }
            producers[id] = entry
        }
        guard buffer.readInteger(as: UInt32.self) == crc, buffer.readableBytes == 0 else { return nil }
    }
}
