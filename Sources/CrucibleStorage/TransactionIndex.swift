import NIOCore

/// One aborted transaction as the index keeps it: the producer, where its data starts, its ABORT marker's
/// offset, and the last stable offset just after the marker.
public struct AbortedTxn: Sendable, Equatable {
    public var producerId: Int64
    public var firstOffset: Int64
    public var lastOffset: Int64
    public var lastStableOffset: Int64

    public init(producerId: Int64, firstOffset: Int64, lastOffset: Int64, lastStableOffset: Int64) {
        self.producerId = producerId
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
        self.lastStableOffset = lastStableOffset
    }
}

/// A segment's `.txnindex`, in Kafka's format: 34-byte entries {version i16 = 0, producerId i64, firstOffset i64,
/// lastOffset i64, lastStableOffset i64}, one per ABORT marker in the segment (the entry lives with the marker,
/// wherever the transaction's data is). A read_committed Fetch sends the ones its range overlaps, so consumers
/// can drop aborted batches. It is derived from the log: recovery rebuilds it, so a missing or torn file loses
/// nothing. The file exists only once a segment has an abort; the entries are also kept in memory.
final class TransactionIndex {
    static let entrySize = 34
    let path: String
    private(set) var entries: [AbortedTxn] = []
    private var file: DiskFile?

    init(path: String) throws {
        self.path = path
        guard FileSystem.exists(path) else { return }
        let bytes = try FileSystem.readAll(path)
        var buffer = ByteBufferAllocator().buffer(bytes: bytes)
        // A torn last entry (a crash mid-write) is dropped here and rebuilt by recovery.
        while buffer.readableBytes >= Self.entrySize {
            guard buffer.readInteger(as: Int16.self) == 0, let producerId = buffer.readInteger(as: Int64.self),
                  let first = buffer.readInteger(as: Int64.self), let last = buffer.readInteger(as: Int64.self),
                  let lso = buffer.readInteger(as: Int64.self) else { break }
            entries.append(AbortedTxn(producerId: producerId, firstOffset: first, lastOffset: last, lastStableOffset: lso))
        }
        if entries.count * Self.entrySize != bytes.count { try rewrite() }
    }

    func append(_ entry: AbortedTxn) throws {
        if let last = entries.last, entry.lastOffset <= last.lastOffset {
            throw StorageError("\(path): aborted transaction at \(entry.lastOffset) is not after the last one (\(last.lastOffset))")
        }
        if file == nil { file = try DiskFile(path: path, create: true) }
        try file!.append(Self.encode([entry]))
        entries.append(entry)
    }

    /// Drops the entries whose marker is at or after `offset` (the log was cut there, or is being replayed
    /// from there).
    func truncate(toOffset offset: Int64) throws {
        guard let cut = entries.firstIndex(where: { $0.lastOffset >= offset }) else { return }
        entries.removeSubrange(cut...)
        try rewrite()
    }

    /// The entries whose transaction overlaps `[from, upTo)`: those with data before `upTo` and a marker at or
    /// after `from`.
    func overlapping(from: Int64, upTo: Int64) -> [AbortedTxn] {
        entries.filter { $0.lastOffset >= from && $0.firstOffset < upTo }
    }

    func sync() throws { try file?.sync() }

    /// Writes the file even with no entries: a cleaned segment's index must exist to replace the old one in the
    /// swap (an empty file reads as no entries).
    func materialize() throws {
        file = nil
        try FileSystem.writeAtomically(path, Array(Self.encode(entries).readableBytesView))
    }

    func delete() throws {
        file = nil
        if FileSystem.exists(path) { try FileSystem.remove(path) }
    }

    private func rewrite() throws {
        file = nil
        if entries.isEmpty {
            if FileSystem.exists(path) { try FileSystem.remove(path) }
        } else {
            let bytes = Self.encode(entries)
            try FileSystem.writeAtomically(path, Array(bytes.readableBytesView))
        }
    }

    private static func encode(_ entries: [AbortedTxn]) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: entries.count * entrySize)
        for entry in entries {
            buffer.writeInteger(Int16(0))
            buffer.writeInteger(entry.producerId)
            buffer.writeInteger(entry.firstOffset)
            buffer.writeInteger(entry.lastOffset)
            buffer.writeInteger(entry.lastStableOffset)
        }
        return buffer
    }
}
