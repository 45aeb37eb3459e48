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
    /// A plain batch from a producer with a transaction open here (Kafka's INVALID_TXN_STATE).
    case invalidTxnState(String)
}

/// Who is appending a batch: sequence checks are for producers' own batches; the group coordinator writes a
/// transaction's offset commits with the producer's id and epoch but no sequence.
public enum AppendOrigin: Sendable {
    case client
    case coordinator
}

/// What a transaction marker means for a partition, decided before it is written.
public enum MarkerVerdict: Equatable, Sendable {
    case append
    /// The producer has moved to a newer epoch than the marker's.
    case fencedEpoch(String)
    /// A coordinator older than the one that last wrote a marker here (a zombie after a failover).
    case coordinatorFenced(String)
}

/// What DescribeProducers reports of one producer.
public struct ActiveProducer: Sendable, Equatable {
    public var producerId: Int64
    public var epoch: Int16
    public var lastSequence: Int32
    public var lastTimestamp: Int64
    public var coordinatorEpoch: Int32
    /// The first offset of its transaction open on this partition, -1 when none is.
    public var currentTxnStartOffset: Int64
}

/// A producer's transaction on one partition that a marker has ended: its data lies in
/// `firstOffset...lastOffset`, the last being the marker's own offset.
public struct CompletedTxn: Sendable, Equatable {
    public var producerId: Int64
    public var firstOffset: Int64
    public var lastOffset: Int64
    public var aborted: Bool
}

/// Per-producer state on one partition: its epoch and the last five batches, which is how far back Kafka
/// recognises retries (`max.in.flight.requests.per.connection` <= 5 for idempotence), and the transaction it
/// has open here.
struct ProducerEntry: Equatable {
    static let batchesKept = 5
    var epoch: Int16
    var batches: [(firstSequence: Int32, lastSequence: Int32, firstOffset: Int64, lastOffset: Int64)]
    /// The max timestamp of its last batch; -1 when only known from a snapshot (not persisted).
    var lastTimestamp: Int64 = -1
    /// The epoch of the coordinator whose marker came last: an older coordinator's marker is a zombie's.
    var coordinatorEpoch: Int32 = -1
    /// Where its open transaction's first batch here is; nil when none is open.
    var currentTxnFirstOffset: Int64?

    static func == (a: ProducerEntry, b: ProducerEntry) -> Bool {
        a.epoch == b.epoch && a.batches.elementsEqual(b.batches) { $0 == $1 } && a.coordinatorEpoch == b.coordinatorEpoch
            && a.currentTxnFirstOffset == b.currentTxnFirstOffset
    }

    var lastSequence: Int32 { batches.last?.lastSequence ?? -1 }
}

/// Sequence checks for idempotent producers, following Kafka's ProducerStateManager: duplicates of the last
/// five batches are answered from the log, a gap or reorder is OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch is
/// INVALID_PRODUCER_EPOCH, and a producer the partition has never seen may start at any sequence. It also keeps
/// each producer's open transaction, which is what holds the last stable offset back.
public struct ProducerStateTable: Sendable {
    private(set) var producers: [Int64: ProducerEntry] = [:]
    /// Transactions ended by a marker the high watermark has not passed yet: until it has, the last stable
    /// offset stays at their first offset (Kafka's unreplicated transactions).
    private var unreplicated: [CompletedTxn] = []
    /// KIP-890: the token of each producer's verification with its coordinator, taken before its first
    /// transactional write here; a marker landing in between removes it, and the write is refused.
    private var verificationGuards: [Int64: UInt64] = [:]
    private var nextGuard: UInt64 = 1

    public init() {}

    public var count: Int { producers.count }

    public func check(_ header: RecordBatchHeader, origin: AppendOrigin = .client) -> SequenceVerdict {
        guard header.hasProducerId else { return .append }
        guard let entry = producers[header.producerId] else { return .append }
        if header.producerEpoch < entry.epoch {
            return .fencedEpoch("epoch \(header.producerEpoch) is older than \(entry.epoch)")
        }
        if !header.isTransactional, let open = entry.currentTxnFirstOffset, header.producerEpoch == entry.epoch {
            return .invalidTxnState("producer \(header.producerId) sent a non-transactional batch with its transaction "
                                    + "from offset \(open) still open")
        }
        guard origin == .client else { return .append }
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

    /// Records a data batch that is now in the log (on append, and when rebuilding from the log). Control
    /// batches go through `complete` instead.
    public mutating func update(_ header: RecordBatchHeader) {
        guard header.hasProducerId, !header.isControl else { return }
        var entry = producers[header.producerId] ?? ProducerEntry(epoch: header.producerEpoch, batches: [])
        if header.producerEpoch != entry.epoch {
            entry = ProducerEntry(epoch: header.producerEpoch, batches: [], coordinatorEpoch: entry.coordinatorEpoch)
        }
        if header.isTransactional && entry.currentTxnFirstOffset == nil {
            entry.currentTxnFirstOffset = header.baseOffset
            verificationGuards.removeValue(forKey: header.producerId)   // the transaction is open: verified
        }
        // Coordinator-written batches (a transaction's offset commits) carry no sequence to remember.
        if header.baseSequence >= 0 {
            // (The planted duplicate-accepting bug keeps the sequence where it was, so the producer's next batch fits.)
            if Mutation.acceptDuplicateSequences.isActive, entry.batches.contains(where: { $0.lastSequence == header.lastSequence }) {
                return
            }
            entry.batches.append((header.baseSequence, header.lastSequence, header.baseOffset, header.lastOffset))
            if entry.batches.count > ProducerEntry.batchesKept { entry.batches.removeFirst() }
        }
        entry.lastTimestamp = header.maxTimestamp
        producers[header.producerId] = entry
    }

    /// Whether a transactional batch would start its producer's transaction here (so needs verifying with the
    /// coordinator first, KIP-890): none is open, or the batch is of a newer epoch.
    public func startsTransaction(_ header: RecordBatchHeader) -> Bool {
        guard header.isTransactional, header.hasProducerId else { return false }
        guard let entry = producers[header.producerId] else { return true }
        return entry.currentTxnFirstOffset == nil || header.producerEpoch > entry.epoch
    }

    /// A fresh guard for producer `producerId`'s verification; it replaces any earlier one.
    public mutating func beginVerification(producerId: Int64) -> UInt64 {
        defer { nextGuard += 1 }
        verificationGuards[producerId] = nextGuard
        return nextGuard
    }

    /// Whether `guard` is still the producer's: no marker ended a transaction since it was taken.
    public func holds(_ guard: UInt64, producerId: Int64) -> Bool { verificationGuards[producerId] == `guard` }

    /// Whether a coordinator may end this producer's transaction here with a marker of this epoch.
    public func checkMarker(producerId: Int64, producerEpoch: Int16, coordinatorEpoch: Int32) -> MarkerVerdict {
        guard let entry = producers[producerId] else { return .append }
        if producerEpoch < entry.epoch {
            return .fencedEpoch("marker epoch \(producerEpoch) of producer \(producerId) is older than \(entry.epoch)")
        }
        if coordinatorEpoch < entry.coordinatorEpoch {
            return .coordinatorFenced("coordinator epoch \(coordinatorEpoch) is older than \(entry.coordinatorEpoch)")
        }
        return .append
    }

    /// Records a transaction marker now in the log (`header` is its control batch): the producer's transaction
    /// here ends. A marker of a newer epoch (a fenced or timed-out producer) moves the producer to it, whose
    /// batches start again at sequence 0; within one epoch sequences run on across transactions. Returns the
    /// transaction it ended, nil when the producer had nothing open here (legal: a partition added to a
    /// transaction that wrote nothing to it).
    @discardableResult
    public mutating func complete(_ header: RecordBatchHeader, marker: ControlRecord.Marker, coordinatorEpoch: Int32) -> CompletedTxn? {
        var entry = producers[header.producerId] ?? ProducerEntry(epoch: header.producerEpoch, batches: [])
        if header.producerEpoch > entry.epoch {
            entry.epoch = header.producerEpoch
            entry.batches = []
        }
        entry.coordinatorEpoch = max(entry.coordinatorEpoch, coordinatorEpoch)
        let first = entry.currentTxnFirstOffset
        entry.currentTxnFirstOffset = nil
        producers[header.producerId] = entry
        verificationGuards.removeValue(forKey: header.producerId)
        guard let first else { return nil }
        let completed = CompletedTxn(producerId: header.producerId, firstOffset: first, lastOffset: header.baseOffset,
                                     aborted: marker == .abort)
        unreplicated.append(completed)
        return completed
    }

    /// The first offset no read_committed consumer may pass yet: the start of the oldest transaction still
    /// open, or of one ended by a marker the high watermark has not passed. Nil when there is none. Forgets the
    /// ended transactions the high watermark has passed.
    public mutating func firstUnstableOffset(highWatermark: Int64) -> Int64? {
        unreplicated.removeAll { $0.lastOffset < highWatermark }
        let open = producers.values.compactMap(\.currentTxnFirstOffset).min()
        let ended = unreplicated.map(\.firstOffset).min()
        switch (open, ended) {
        case let (a?, b?): return min(a, b)
        case let (a, b): return a ?? b
        }
    }

    /// The last stable offset recorded with an aborted transaction in the index: where the oldest other
    /// transaction open here begins, or just past the marker when there is none (Kafka's definition).
    func lastStableOffset(after completed: CompletedTxn) -> Int64 {
        producers.filter { $0.key != completed.producerId }.values.compactMap(\.currentTxnFirstOffset).min()
            ?? completed.lastOffset + 1
    }

    public mutating func removeAll() {
        producers.removeAll()
        unreplicated.removeAll()
        verificationGuards.removeAll()
    }

    public var active: [ActiveProducer] {
        producers.sorted { $0.key < $1.key }.map { id, entry in
            ActiveProducer(producerId: id, epoch: entry.epoch, lastSequence: entry.lastSequence,
                           lastTimestamp: entry.lastTimestamp, coordinatorEpoch: entry.coordinatorEpoch,
                           currentTxnStartOffset: entry.currentTxnFirstOffset ?? -1)
        }
    }

    // Snapshot file: "CPS2", entry count, then per producer: id, epoch, coordinator epoch, the open
    // transaction's first offset (-1 for none), batch count, batches; a CRC32C of all that. "CPS1" (no
    // transaction fields) is still read.
    private static let magic = Array("CPS2".utf8)
    private static let magicBeforeTransactions = Array("CPS1".utf8)

    func serialized() -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: 16 + producers.count * 76)
        buffer.writeBytes(Self.magic)
        buffer.writeInteger(Int32(producers.count))
        for (id, entry) in producers.sorted(by: { $0.key < $1.key }) {
            buffer.writeInteger(id)
            buffer.writeInteger(entry.epoch)
            buffer.writeInteger(entry.coordinatorEpoch)
            buffer.writeInteger(entry.currentTxnFirstOffset ?? -1)
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
        let magic = buffer.readBytes(length: 4)
        let transactions = magic == Self.magic
        guard transactions || magic == Self.magicBeforeTransactions, let count = buffer.readInteger(as: Int32.self),
              count >= 0 else { return nil }
        for _ in 0..<count {
            guard let id = buffer.readInteger(as: Int64.self), let epoch = buffer.readInteger(as: Int16.self) else { return nil }
            var entry = ProducerEntry(epoch: epoch, batches: [])
            if transactions {
                guard let coordinatorEpoch = buffer.readInteger(as: Int32.self),
                      let txnFirst = buffer.readInteger(as: Int64.self) else { return nil }
                entry.coordinatorEpoch = coordinatorEpoch
                entry.currentTxnFirstOffset = txnFirst >= 0 ? txnFirst : nil
            }
            guard let batches = buffer.readInteger(as: Int8.self), batches >= 0 else { return nil }
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
