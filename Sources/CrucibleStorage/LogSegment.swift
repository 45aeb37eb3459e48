import CrucibleRecords
import NIOCore

/// A contiguous slice of a segment file: what a fetch sends, ideally straight from the page cache.
public struct LogSlice: @unchecked Sendable {
    public let file: DiskFile
    public let position: Int
    public let length: Int
}

/// One `<20-digit base offset>.log` file with its `.index`, `.timeindex` and (once it holds an ABORT marker)
/// `.txnindex`.
final class LogSegment {
    let baseOffset: Int64
    let log: DiskFile
    let offsetIndex: OffsetIndex
    let timeIndex: TimeIndex
    /// The aborted transactions whose ABORT marker is in this segment.
    let txnIndex: TransactionIndex
    let indexIntervalBytes: Int
    /// Wall-clock time the segment was opened at, for `segment.ms` rolls.
    let createdMs: Int64
    private var bytesSinceIndexEntry = 0
    private(set) var maxTimestamp: Int64 = -1
    private(set) var offsetOfMaxTimestamp: Int64 = -1
    /// Next offset after the last batch in this segment (its base offset when empty).
    private(set) var nextOffset: Int64

    static func fileName(_ baseOffset: Int64, _ suffix: String) -> String {
        let digits = String(baseOffset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    /// `suffix` names the files of a segment still being written by the cleaner (`.cleaned`), which become the
    /// segment's own only through `SegmentSwap`.
    init(directory: String, baseOffset: Int64, indexIntervalBytes: Int, nowMs: Int64, suffix: String = "") throws {
        self.baseOffset = baseOffset
        self.indexIntervalBytes = indexIntervalBytes
        log = try DiskFile(path: directory + "/" + Self.fileName(baseOffset, ".log" + suffix), create: true)
        offsetIndex = try OffsetIndex(path: directory + "/" + Self.fileName(baseOffset, ".index" + suffix),
                                      baseOffset: baseOffset)
        timeIndex = try TimeIndex(path: directory + "/" + Self.fileName(baseOffset, ".timeindex" + suffix),
                                  baseOffset: baseOffset)
        txnIndex = try TransactionIndex(path: directory + "/" + Self.fileName(baseOffset, ".txnindex" + suffix))
        createdMs = nowMs
        nextOffset = baseOffset
    }

    var size: Int { log.size }
    var isEmpty: Bool { log.size == 0 }

    /// Appends batches whose offsets are already assigned.
    func append(_ batches: ByteBuffer, spans: [BatchSpan]) throws {
        let position = log.size
        try log.append(batches)
        for span in spans {
            let batchPosition = position + span.start - batches.readerIndex
            try noteBatch(span.header, at: batchPosition)
        }
    }

    private func noteBatch(_ header: RecordBatchHeader, at position: Int) throws {
        if header.maxTimestamp > maxTimestamp {
            maxTimestamp = header.maxTimestamp
            offsetOfMaxTimestamp = header.lastOffset
        }
        if bytesSinceIndexEntry >= indexIntervalBytes {
            try offsetIndex.append(offset: header.baseOffset, position: position)
            try timeIndex.append(timestamp: maxTimestamp, offset: header.baseOffset)
            bytesSinceIndexEntry = 0
        }
        bytesSinceIndexEntry += header.totalSize
        nextOffset = header.lastOffset + 1
    }

    /// Reads the header of the batch at `position`, nil past the end or on a torn tail.
    func header(at position: Int) throws -> RecordBatchHeader? {
        guard position + RecordBatchHeader.size <= log.size else { return nil }
        let bytes = try log.read(at: position, count: RecordBatchHeader.size)
        return RecordBatchHeader(bytes, at: bytes.readerIndex)
    }

    /// Position of the first batch whose last offset is >= `offset`, and that batch's header.
    func locate(_ offset: Int64) throws -> (position: Int, header: RecordBatchHeader)? {
        var position = offsetIndex.floorPosition(for: offset)
        while let header = try header(at: position) {
            if header.lastOffset >= offset { return (position, header) }
            position += header.totalSize
        }
        return nil
    }

    /// Whole batches from the one holding `offset`, up to `maxBytes` (at least one batch, as KIP-74 asks),
    /// ending before `endOffset`.
    func read(from offset: Int64, maxBytes: Int, endOffset: Int64) throws -> LogSlice? {
        guard let (start, first) = try locate(offset), first.baseOffset < endOffset else { return nil }
        var end = start + first.totalSize
        while end - start < maxBytes, let next = try header(at: end), next.baseOffset < endOffset,
              end + next.totalSize - start <= maxBytes {
            end += next.totalSize
        }
        return LogSlice(file: log, position: start, length: end - start)
    }

    /// Scans the file, keeps every whole batch with a good CRC, truncates the rest, rebuilds the indexes.
    /// Returns the number of bytes cut from a torn or corrupt tail.
    func recover(maxBatchBytes: Int) throws -> Int {
        try offsetIndex.reset()
        try timeIndex.reset()
        bytesSinceIndexEntry = 0
        maxTimestamp = -1
        nextOffset = baseOffset
        var position = 0
        let chunkBytes = 1 << 20
        while position < log.size {
            guard let header = try header(at: position), header.magic == 2,
                  header.batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead),
                  header.totalSize <= max(maxBatchBytes, chunkBytes) * 2,
                  position + header.totalSize <= log.size,
                  header.baseOffset >= nextOffset else { break }
            let batch = try log.read(at: position, count: header.totalSize)
            guard RecordBatch.crcMatches(BatchSpan(header: header, start: batch.readerIndex), in: batch) else { break }
            try noteBatch(header, at: position)
            position += header.totalSize
        }
        let cut = log.size - position
        if cut > 0 { try log.truncate(to: position) }
        return cut
    }

    /// Loads indexes after a clean shutdown; falls back to recovery when they do not look right.
    func open(maxBatchBytes: Int) throws {
        guard try offsetIndex.load(logSize: log.size), try timeIndex.load() else {
            _ = try recover(maxBatchBytes: maxBatchBytes)
            return
        }
        // Find the last batch from the last index entry to learn the next offset and the max timestamp.
        var position = offsetIndex.entries.last.map { Int($0.position) } ?? 0
        if let lastTime = timeIndex.entries.last {
            maxTimestamp = lastTime.timestamp
            offsetOfMaxTimestamp = baseOffset + Int64(lastTime.relativeOffset)
        }
        while let header = try header(at: position), position + header.totalSize <= log.size {
            if header.maxTimestamp > maxTimestamp {
                maxTimestamp = header.maxTimestamp
                offsetOfMaxTimestamp = header.lastOffset
            }
            nextOffset = header.lastOffset + 1
            position += header.totalSize
            bytesSinceIndexEntry += header.totalSize
        }
        if position != log.size { _ = try recover(maxBatchBytes: maxBatchBytes) }
    }

    /// Removes every batch at or after `offset`.
    func truncate(to offset: Int64) throws {
        // Batches are the unit of replication: the one holding `offset` goes entirely, as in Kafka.
        guard let (position, _) = try locate(offset) else { return }
        try log.truncate(to: position)
        _ = try recover(maxBatchBytes: Int.max / 4)
    }

    func flush() throws {
        try log.sync()
        try offsetIndex.file.sync()
        try timeIndex.file.sync()
        try txnIndex.sync()
    }

    func delete() throws {
        try FileSystem.remove(log.path)
        try FileSystem.remove(offsetIndex.file.path)
        try FileSystem.remove(timeIndex.file.path)
        try txnIndex.delete()
    }
}
