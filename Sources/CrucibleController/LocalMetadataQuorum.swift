import CrucibleProtocol
import NIOConcurrencyHelpers
import NIOCore

/// A quorum of one: proposals are written to the local metadata log and fsynced, which commits them.
public final class LocalMetadataQuorum: MetadataQuorum, @unchecked Sendable {
    public let nodeId: Int32
    public let epoch: Int32 = 1
    private let log: MetadataLog
    private let eventLoop: EventLoop
    private let lock = NIOLock()
    private var onCommit: (@Sendable (MetadataCommit) -> Void)?

    public init(nodeId: Int32, log: MetadataLog, eventLoop: EventLoop) {
        self.nodeId = nodeId
        self.log = log
        self.eventLoop = eventLoop
    }

    public var leaderId: Int32? { nodeId }

    public func start(onCommit: @escaping @Sendable (MetadataCommit) -> Void) throws {
        let replayed = try log.replay()
        lock.withLock { self.onCommit = onCommit }
        // Replay batch by batch as written, so listeners see the same grouping as live commits.
        var batch: [any KafkaMetadataRecord] = []
        var base: Int64 = 0
        for entry in replayed {
            if entry.batchStart && !batch.isEmpty {
                onCommit(.records(baseOffset: base, batch))
                batch = []
            }
            if batch.isEmpty { base = entry.offset }
            batch.append(entry.frame.record)
        }
        if !batch.isEmpty { onCommit(.records(baseOffset: base, batch)) }
    }

    public func propose(_ records: [any KafkaMetadataRecord]) -> EventLoopFuture<Int64> {
        eventLoop.submit {
            try self.lock.withLock {
                let frames = records.map { MetadataRecordFrame(record: $0, version: type(of: $0).validVersions.upperBound) }
                let base = try self.log.append(frames, epoch: self.epoch, nowMs: MetadataClock.nowMs())
                self.onCommit?(.records(baseOffset: base, records))
                return base
            }
        }
    }

    /// Everything written is committed: a quorum of one is its own only voter.
    public var progress: QuorumProgress {
        let end = log.endOffset
        return QuorumProgress(highWatermark: end, logEndOffset: end, voterEndOffsets: [nodeId: end])
    }

    public func shutdown() {
        try? log.close(nowMs: MetadataClock.nowMs())
    }
}

enum MetadataClock {
    static func nowMs() -> Int64 {
        Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000)
    }
}
