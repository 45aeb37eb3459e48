import Dispatch
import Logging
import NIOConcurrencyHelpers

/// Owns a log directory: which partition logs exist, whether the last shutdown was clean, and the recovery
/// points (Kafka's `recovery-point-offset-checkpoint`) that bound how much a crash start has to rescan.
public final class LogManager: @unchecked Sendable {
    public static let cleanShutdownFile = ".kafka_cleanshutdown"
    public static let recoveryCheckpointFile = "recovery-point-offset-checkpoint"
    /// High watermarks, so a restarted leader does not hide what its followers had already acknowledged.
    public static let highWatermarkCheckpointFile = "replication-offset-checkpoint"
    /// Log starts moved by DeleteRecords, which no segment boundary records (Kafka's file of the same name).
    public static let logStartCheckpointFile = "log-start-offset-checkpoint"
    /// Where each compacted log was cleaned up to (Kafka's file of the same name): the next pass's dirty start.
    public static let cleanerCheckpointFile = "cleaner-offset-checkpoint"

    public let directory: String
    private let lock = NIOLock()
    private var logs: [String: PartitionLog] = [:]
    private let recoveryPoints: [String: Int64]
    /// Read at start, each used once: a log deleted and created again must not inherit its old start.
    private var logStarts: [String: Int64]
    private var cleanerOffsets: [String: Int64]
    /// True when the previous run did not leave the clean-shutdown marker: every log recovers on open.
    public let recovering: Bool
    private let logger: Logger

    /// Given to every log opened here: each flush's milliseconds.
    private let flushObserver: (@Sendable (Double) -> Void)?

    public init(directory: String, logger: Logger = Logger(label: "crucible.logs"),
                flushObserver: (@Sendable (Double) -> Void)? = nil) throws {
        self.directory = directory
        self.flushObserver = flushObserver
        self.logger = logger
        try FileSystem.makeDirectory(directory)
        let marker = directory + "/" + Self.cleanShutdownFile
        recovering = !FileSystem.exists(marker)
        try? FileSystem.remove(marker)
        recoveryPoints = (try? Self.readCheckpoint(directory + "/" + Self.recoveryCheckpointFile)) ?? [:]
        logStarts = (try? Self.readCheckpoint(directory + "/" + Self.logStartCheckpointFile)) ?? [:]
        cleanerOffsets = (try? Self.readCheckpoint(directory + "/" + Self.cleanerCheckpointFile)) ?? [:]
        if recovering { logger.info("no clean shutdown marker in \(directory): recovering logs from their recovery points") }
        // Deletions a crash interrupted.
        for name in (try? FileSystem.list(directory)) ?? [] where name.hasSuffix(Self.deletionSuffix) {
            Self.removeInBackground(directory + "/" + name)
        }
    }

    static let deletionSuffix = "-delete"
    private static let deletions = DispatchQueue(label: "crucible.log-deletion")

    /// Renames a partition directory out of the partition namespace at once (Kafka's
    /// `<topic>-<partition>.<id>-delete`, a name `partitionsOnDisk` does not take for one) and removes it in the
    /// background, so deleting gigabytes does not hold up the caller (a metadata update, and with it the quorum).
    static func retire(_ directory: String) throws {
        let doomed = directory + "." + String(UInt64.random(in: 0...UInt64.max), radix: 16) + deletionSuffix
        try FileSystem.rename(directory, doomed)
        removeInBackground(doomed)
    }

    private static func removeInBackground(_ path: String) {
        deletions.async { try? FileSystem.removeTree(path) }
    }

    /// Partition directories present on disk as (topic, partition).
    public func partitionsOnDisk() throws -> [(topic: String, partition: Int32)] {
        try FileSystem.list(directory).compactMap { name in
            guard FileSystem.isDirectory(directory + "/" + name), let dash = name.lastIndex(of: "-"),
                  let partition = Int32(name[name.index(after: dash)...]) else { return nil }
            let topic = String(name[..<dash])
            return topic.hasPrefix("__cluster_metadata") ? nil : (topic, partition)
        }
    }

    public func log(topic: String, partition: Int32) -> PartitionLog? {
        lock.withLock { logs["\(topic)-\(partition)"] }
    }

    public var allLogs: [PartitionLog] { lock.withLock { Array(logs.values) } }

    /// Opens the log, creating it when absent.
    public func openLog(topic: String, partition: Int32, config: LogConfig, nowMs: Int64) throws -> PartitionLog {
        let name = "\(topic)-\(partition)"
        if let existing = lock.withLock({ logs[name] }) { return existing }
        let recoveryPoint: Int64? = recovering ? (recoveryPoints[name] ?? 0) : nil
        let log = try PartitionLog(directory: directory + "/" + name, topic: topic, partition: partition,
                                   config: config, recoveryPoint: recoveryPoint, nowMs: nowMs, logger: logger)
        if let start = lock.withLock({ logStarts.removeValue(forKey: name) }) { try log.advanceStartOffset(to: start) }
        log.truncationObserver = { [weak self] offset in self?.cleanerCheckpointTruncated(name, to: offset) }
        log.flushObserver = flushObserver
        return lock.withLock {
            if let raced = logs[name] { return raced }
            logs[name] = log
            return log
        }
    }

    public func deleteLog(topic: String, partition: Int32) throws {
        let name = "\(topic)-\(partition)"
        if lock.withLock({ cleanerOffsets.removeValue(forKey: name) }) != nil { try writeCleanerCheckpoint() }
        if let log = lock.withLock({ logs.removeValue(forKey: name) }) {
            try log.deleteFiles()
        } else if FileSystem.isDirectory(directory + "/" + name) {
            try Self.retire(directory + "/" + name)
        }
    }

    /// Writes every log's recovery point (what has been fsynced).
    public func checkpointRecoveryPoints() throws {
        let points = lock.withLock { logs.mapValues { $0.recoveryPoint } }
        try Self.writeCheckpoint(directory + "/" + Self.recoveryCheckpointFile, points)
    }

    public func checkpointLogStartOffsets() throws {
        let points = lock.withLock { logs.mapValues { $0.logStartOffset } }
        try Self.writeCheckpoint(directory + "/" + Self.logStartCheckpointFile, points)
    }

    public func checkpointHighWatermarks(_ points: [String: Int64]) throws {
        try Self.writeCheckpoint(directory + "/" + Self.highWatermarkCheckpointFile, points)
    }

    public func checkpointedHighWatermarks() -> [String: Int64] {
        (try? Self.readCheckpoint(directory + "/" + Self.highWatermarkCheckpointFile)) ?? [:]
    }

    // MARK: Cleaner checkpoint

    /// Cleans `log` if it is compacted and due, from where its last pass ended, and moves its checkpoint.
    public func clean(_ log: PartitionLog, with cleaner: LogCleaner, upperBound: Int64, nowMs: Int64,
                      tombstonesDue: Bool = false) throws -> CleanResult? {
        let checkpoint = lock.withLock { cleanerOffsets[log.name] }
        guard let result = try cleaner.clean(log, checkpoint: checkpoint, upperBound: upperBound, nowMs: nowMs,
                                             tombstonesDue: tombstonesDue) else { return nil }
        // Checked under this lock: a truncation that raced the pass lowers the checkpoint after taking it too.
        let moved = lock.withLock { () -> Bool in
            guard logs[log.name] === log, log.truncationCount == result.truncationsAtStart else { return false }
            cleanerOffsets[log.name] = result.endOffset
            return true
        }
        if moved { try writeCleanerCheckpoint() }
        return result
    }

    public func cleanerCheckpoint(_ log: PartitionLog) -> Int64? { lock.withLock { cleanerOffsets[log.name] } }

    /// A truncation below the checkpoint makes what is appended there dirty again (Kafka's
    /// maybeTruncateCheckpoint); a checkpoint above the log end would let it pass as clean.
    private func cleanerCheckpointTruncated(_ name: String, to offset: Int64) {
        let lowered = lock.withLock { () -> Bool in
            guard let current = cleanerOffsets[name], current > offset else { return false }
            cleanerOffsets[name] = offset
            return true
        }
        if lowered { try? writeCleanerCheckpoint() }
    }

    private func writeCleanerCheckpoint() throws {
        // One writer at a time: the file is rewritten whole from the map.
        try lock.withLock { try Self.writeCheckpoint(directory + "/" + Self.cleanerCheckpointFile, cleanerOffsets) }
    }

    /// Flushes and closes every log, then leaves the marker that lets the next start skip recovery.
    public func shutdown(nowMs: Int64) throws {
        for log in allLogs { try log.close(nowMs: nowMs) }
        try checkpointRecoveryPoints()
        try checkpointLogStartOffsets()
        try FileSystem.writeAtomically(directory + "/" + Self.cleanShutdownFile, [])
    }

    // Kafka's checkpoint format: a version line, a count line, then "topic partition offset" lines.
    static func writeCheckpoint(_ path: String, _ points: [String: Int64]) throws {
        var text = "0\n\(points.count)\n"
        for (name, offset) in points.sorted(by: { $0.key < $1.key }) {
            guard let dash = name.lastIndex(of: "-") else { continue }
            text += "\(name[..<dash]) \(name[name.index(after: dash)...]) \(offset)\n"
        }
        try FileSystem.writeAtomically(path, Array(text.utf8))
    }

    static func readCheckpoint(_ path: String) throws -> [String: Int64] {
        let lines = String(decoding: try FileSystem.readAll(path), as: UTF8.self).split(separator: "\n")
        guard lines.count >= 2, lines[0] == "0", let count = Int(lines[1]), lines.count - 2 == count else {
            throw StorageError("\(path) is not a checkpoint file")
        }
        var points: [String: Int64] = [:]
        for line in lines.dropFirst(2) {
            let parts = line.split(separator: " ")
            guard parts.count == 3, let offset = Int64(parts[2]) else { throw StorageError("bad line in \(path)") }
            points["\(parts[0])-\(parts[1])"] = offset
        }
        return points
    }
}

/// `meta.properties`, which `crucible storage format` writes and a broker checks before it starts.
public struct MetaProperties: Equatable, Sendable {
    public static let fileName = "meta.properties"
    public var clusterId: String
    public var nodeId: Int32
    public var directoryId: String

    public init(clusterId: String, nodeId: Int32, directoryId: String) {
        self.clusterId = clusterId
        self.nodeId = nodeId
        self.directoryId = directoryId
    }

    public func write(to directory: String) throws {
        try FileSystem.makeDirectory(directory)
        let text = "#\n#Written by crucible storage format\nversion=1\ncluster.id=\(clusterId)\nnode.id=\(nodeId)\ndirectory.id=\(directoryId)\n"
        try FileSystem.writeAtomically(directory + "/" + Self.fileName, Array(text.utf8))
    }

    /// nil when the directory was never formatted.
    public static func read(from directory: String) throws -> MetaProperties? {
        let path = directory + "/" + fileName
        guard FileSystem.exists(path) else { return nil }
        var values: [String: String] = [:]
        for line in String(decoding: try FileSystem.readAll(path), as: UTF8.self).split(separator: "\n")
        where !line.hasPrefix("#") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        guard let clusterId = values["cluster.id"], let node = values["node.id"].flatMap({ Int32($0) }) else {
            throw StorageError("\(path) lacks cluster.id or node.id")
        }
        return MetaProperties(clusterId: clusterId, nodeId: node, directoryId: values["directory.id"] ?? "")
    }
}
