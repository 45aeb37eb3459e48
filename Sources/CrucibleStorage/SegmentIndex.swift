import NIOCore

/// Kafka's sparse `.index`: big-endian (relative offset u32, file position u32) pairs, one per
/// `log.index.interval.bytes` of log. Held in memory for lookups, appended to its file as it grows.
final class OffsetIndex {
    static let entryBytes = 8
    let file: DiskFile
    let baseOffset: Int64
    private(set) var entries: [(relativeOffset: UInt32, position: UInt32)] = []

    init(path: String, baseOffset: Int64) throws {
        file = try DiskFile(path: path, create: true)
        self.baseOffset = baseOffset
    }

    /// Loads entries from disk; false when the file is not a sane index for a log of `logSize` bytes.
    func load(logSize: Int) throws -> Bool {
        guard file.size % Self.entryBytes == 0 else { return false }
        var buffer = try file.read(at: 0, count: file.size)
        var loaded: [(UInt32, UInt32)] = []
        while let relative = buffer.readInteger(as: UInt32.self), let position = buffer.readInteger(as: UInt32.self) {
            if let last = loaded.last, relative <= last.0 || position <= last.1 { return false }
            if Int(position) >= logSize { return false }
            loaded.append((relative, position))
        }
        entries = loaded.map { (relativeOffset: $0.0, position: $0.1) }
        return true
    }

    func append(offset: Int64, position: Int) throws {
        let relative = UInt32(offset - baseOffset)
        if let last = entries.last, relative <= last.relativeOffset { return }
        entries.append((relative, UInt32(position)))
        var bytes = ByteBufferAllocator().buffer(capacity: Self.entryBytes)
        bytes.writeInteger(relative)
        bytes.writeInteger(UInt32(position))
        try file.append(bytes)
    }

    /// Position of the last indexed batch starting at or before `offset` (0 when none is).
    func floorPosition(for offset: Int64) -> Int {
        let relative = offset - baseOffset
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if Int64(entries[mid].relativeOffset) <= relative { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? 0 : Int(entries[low - 1].position)
    }

    func reset() throws {
        entries.removeAll()
        try file.truncate(to: 0)
    }

    /// Drops entries at or past `position` (log truncation).
    func truncate(toPosition position: Int) throws {
        let keep = entries.prefix { Int($0.position) < position }.count
        entries.removeLast(entries.count - keep)
        try file.truncate(to: keep * Self.entryBytes)
    }
}

/// Kafka's `.timeindex`: big-endian (timestamp i64, relative offset u32) pairs with growing timestamps.
final class TimeIndex {
    static let entryBytes = 12
    let file: DiskFile
    let baseOffset: Int64
    private(set) var entries: [(timestamp: Int64, relativeOffset: UInt32)] = []

    init(path: String, baseOffset: Int64) throws {
        file = try DiskFile(path: path, create: true)
        self.baseOffset = baseOffset
    }

    func load() throws -> Bool {
        guard file.size % Self.entryBytes == 0 else { return false }
        var buffer = try file.read(at: 0, count: file.size)
        var loaded: [(Int64, UInt32)] = []
        while let timestamp = buffer.readInteger(as: Int64.self), let relative = buffer.readInteger(as: UInt32.self) {
            if let last = loaded.last, timestamp <= last.0 || relative < last.1 { return false }
            loaded.append((timestamp, relative))
        }
        entries = loaded.map { (timestamp: $0.0, relativeOffset: $0.1) }
        return true
    }

    func append(timestamp: Int64, offset: Int64) throws {
        if let last = entries.last, timestamp <= last.timestamp { return }
        let relative = UInt32(offset - baseOffset)
        entries.append((timestamp, relative))
        var bytes = ByteBufferAllocator().buffer(capacity: Self.entryBytes)
        bytes.writeInteger(timestamp)
        bytes.writeInteger(relative)
        try file.append(bytes)
    }

    /// The offset to start scanning from for the first record with timestamp >= `timestamp`: the entry
    /// before the first entry that reaches it (entries record maxima seen so far, so earlier batches may
    /// still hold a match only at or after that entry's predecessor).
    func floorOffset(for timestamp: Int64) -> Int64 {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].timestamp < timestamp { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? baseOffset : baseOffset + Int64(entries[low - 1].relativeOffset)
    }

    func reset() throws {
        entries.removeAll()
        try file.truncate(to: 0)
    }

    func truncate(toOffset offset: Int64) throws {
        let keep = entries.prefix { baseOffset + Int64($0.relativeOffset) < offset }.count
        entries.removeLast(entries.count - keep)
        try file.truncate(to: keep * Self.entryBytes)
    }
}
