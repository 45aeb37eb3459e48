import CrucibleRaft
import CrucibleRecords
import CrucibleStorage
import Logging
import NIOCore

/// The quorum's files in `<metadata.log.dir>/__cluster_metadata-0/`: the `quorum-state` file, the Kafka log of
/// entries (one batch per entry) and `<20-digit offset>-<10-digit epoch>.checkpoint` snapshots, named by the Raft
/// offset and epoch they end at. Every method is called on the quorum's event loop and is durable when it
/// returns, except `append`, which waits for `flush`.
final class RaftLogStore {
    let directory: String
    private let log: PartitionLog
    private let stateFile: QuorumStateFile
    private let logger: Logger
    private(set) var offsets = RecordOffsetIndex(startOffset: 0, startRecordOffset: 0)

    init(metadataDirectory: String, nowMs: Int64, logger: Logger) throws {
        directory = metadataDirectory + "/" + MetadataLog.directoryName
        var config = LogConfig()
        config.segmentBytes = 64 << 20
        config.retentionMs = -1
        config.maxMessageBytes = 8 << 20
        config.flushMessages = .max
        // Recovery point 0: every batch is checked on open, so a torn tail from a crash is cut.
        log = try PartitionLog(directory: directory, topic: "__cluster_metadata", partition: 0, config: config,
                               recoveryPoint: 0, nowMs: nowMs, logger: logger)
        stateFile = QuorumStateFile(directory: directory)
        self.logger = logger
    }

    // MARK: Recovery

    /// What survived on disk: election state, newest snapshot, and the log entries that continue it.
    func load() throws -> RaftDurableState {
        let election = try stateFile.read()
        let snapshot = try newestSnapshot()
        var recordEnd: Int64 = 0
        if let snapshot { recordEnd = try MetadataSnapshotCodec.decode(snapshot.data).recordEnd }
        let raftStart = snapshot?.id.offset ?? 0
        offsets.reset(startOffset: raftStart, startRecordOffset: recordEnd)
        let bytes = try log.readBytes(from: log.logStartOffset, maxBytes: Int.max / 2, endOffset: log.logEndOffset)
        var kept = ByteBuffer()
        for span in try RecordBatch.spans(in: bytes, allowPartialTail: false) {
            let header = span.header
            if header.lastOffset < offsets.endRecordOffset { continue }  // covered by the snapshot
            guard header.baseOffset == offsets.endRecordOffset else {
                // A batch straddling the snapshot end, or a gap: a crash between installing a snapshot and
                // resetting the log. What follows is not known to continue the snapshot; drop it.
                logger.warning("metadata log: dropping entries from record offset \(header.baseOffset) (expected \(offsets.endRecordOffset))")
                try log.truncate(to: header.baseOffset)
                break
            }
            var batch = bytes.getSlice(at: span.start, length: span.size)!
            kept.writeBuffer(&batch)
            offsets.append(recordCount: Int64(header.lastOffsetDelta) + 1)
        }
        if kept.readableBytes == 0 && log.logEndOffset != recordEnd {
            // Nothing on disk continues the snapshot: the log starts where it ends.
            try log.reset(to: recordEnd, nowMs: 0)
        }
        let entries = try MetadataEntryCodec.entries(in: kept, firstOffset: raftStart)
        return RaftDurableState(election: election, snapshot: snapshot, entries: entries)
    }

    private func newestSnapshot() throws -> RaftSnapshot? {
        guard let (id, name) = try snapshotFiles().last else { return nil }
        return RaftSnapshot(id: id, data: try FileSystem.readAll(directory + "/" + name))
    }

    private func snapshotFiles() throws -> [(SnapshotID, String)] {
        try FileSystem.list(directory).compactMap { name -> (SnapshotID, String)? in
            guard name.hasSuffix(".checkpoint"), name.count == 42,
                  let offset = Int64(name.prefix(20)), let epoch = Int32(name.dropFirst(21).prefix(10)) else { return nil }
            return (SnapshotID(offset: offset, epoch: epoch), name)
        }.sorted { $0.0.offset < $1.0.offset }
    }

    static func snapshotFileName(_ id: SnapshotID) -> String {
        func padded(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(id.offset, 20))-\(padded(Int64(id.epoch), 10)).checkpoint"
    }

    // MARK: Actions

    func persist(_ election: ElectionState, voters: [RaftNodeID]) throws {
        try stateFile.write(election, voters: voters)
    }

    func append(_ entries: [RaftEntry], nowMs: Int64) throws {
        for entry in entries {
            precondition(entry.offset == offsets.endOffset, "append at \(entry.offset), log ends at \(offsets.endOffset)")
            let batch = try MetadataEntryCodec.batch(for: entry, recordBase: offsets.endRecordOffset)
            _ = try log.appendAsFollower(batch, nowMs: nowMs)
            offsets.append(recordCount: MetadataEntryCodec.recordCount(of: entry))
        }
    }

    func flush(nowMs: Int64) throws {
        try log.flush(nowMs: nowMs)
    }

    func truncate(toOffset offset: Int64) throws {
        guard offset < offsets.endOffset else { return }
        try log.truncate(to: offsets.recordOffset(ofEntry: offset))
        offsets.truncate(toEntry: offset)
    }

    /// Writes a snapshot the node took and removes older ones.
    func write(_ snapshot: RaftSnapshot) throws {
        try FileSystem.writeAtomically(directory + "/" + Self.snapshotFileName(snapshot.id), snapshot.data,
                                       syncDirectory: true)
        for (id, name) in try snapshotFiles() where id.offset < snapshot.id.offset {
            try FileSystem.remove(directory + "/" + name)
        }
    }

    /// Drops whole segments the latest snapshot covers; rolling first lets the next trim free this segment.
    func trimPrefix(toOffset offset: Int64, nowMs: Int64) throws {
        guard offset > offsets.startOffset, offset <= offsets.endOffset else { return }
        let record = offsets.recordOffset(ofEntry: offset)
        offsets.trimPrefix(toEntry: offset)
        try log.roll(nowMs: nowMs)
        try log.deleteSegments(endingAtOrBelow: record)
    }

    /// A snapshot from the leader replaces the whole log. The checkpoint is durable before the log is reset, so
    /// a crash in between finds the new snapshot and drops the old entries that do not continue it.
    func install(_ snapshot: RaftSnapshot, nowMs: Int64) throws {
        let recordEnd = try MetadataSnapshotCodec.decode(snapshot.data).recordEnd
        try write(snapshot)
        try log.reset(to: recordEnd, nowMs: nowMs)
        try FileSystem.syncDirectory(containing: directory + "/" + Self.snapshotFileName(snapshot.id))
        offsets.reset(startOffset: snapshot.id.offset, startRecordOffset: recordEnd)
    }

    /// The record offset where entry `offset` starts: what onCommit numbers records by.
    func recordOffset(ofEntry offset: Int64) -> Int64 {
        offsets.recordOffset(ofEntry: offset)
    }

    func close(nowMs: Int64) {
        try? log.close(nowMs: nowMs)
    }
}
