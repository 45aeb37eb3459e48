import CrucibleController
import CrucibleProtocol
import CrucibleStorage
import NIOConcurrencyHelpers

/// A partition this broker hosts: its log plus the replication state the metadata gives it. The high
/// watermark is what consumers may read up to; on a single-replica partition it follows the log end.
public final class Partition: @unchecked Sendable {
    public let topic: String
    public let index: Int32
    public let log: PartitionLog
    private let lock = NIOLock()
    private var state: PartitionImage
    private var topicId: KafkaUUID
    private var highWatermarkValue: Int64
    private var minInsyncReplicasValue: Int32
    private var logAppendTimeValue: Bool

    init(topic: String, topicId: KafkaUUID, image: PartitionImage, log: PartitionLog, minInsyncReplicas: Int32,
         logAppendTime: Bool) {
        self.topic = topic
        self.index = image.partition
        self.log = log
        self.topicId = topicId
        state = image
        minInsyncReplicasValue = minInsyncReplicas
        logAppendTimeValue = logAppendTime
        // After a restart the high watermark is recovered from the log: with one replica all of it is committed.
        highWatermarkValue = image.replicas.count <= 1 ? log.logEndOffset : 0
    }

    public var id: KafkaUUID { lock.withLock { topicId } }
    public var image: PartitionImage { lock.withLock { state } }
    public var leaderEpoch: Int32 { lock.withLock { state.leaderEpoch } }
    public var highWatermark: Int64 { lock.withLock { highWatermarkValue } }
    public var minInsyncReplicas: Int32 { lock.withLock { minInsyncReplicasValue } }
    public var logAppendTime: Bool { lock.withLock { logAppendTimeValue } }
    /// No transactions yet: the last stable offset is the high watermark.
    public var lastStableOffset: Int64 { highWatermark }

    func isLeader(on node: Int32) -> Bool { lock.withLock { state.leader == node } }

    func update(image: PartitionImage, topicId: KafkaUUID, minInsyncReplicas: Int32, logAppendTime: Bool) {
        lock.withLock {
            state = image
            self.topicId = topicId
            minInsyncReplicasValue = minInsyncReplicas
            logAppendTimeValue = logAppendTime
        }
    }

    /// Moves the high watermark forward (never back) to `offset` capped at the log end; true when it moved.
    @discardableResult
    func advanceHighWatermark(to offset: Int64) -> Bool {
        let end = log.logEndOffset
        return lock.withLock {
            let next = min(offset, end)
            guard next > highWatermarkValue else { return false }
            highWatermarkValue = next
            return true
        }
    }

    /// After local appends: with this broker as the only in-sync replica, everything written is committed.
    func appendedLocally() -> Bool {
        let soleReplica = lock.withLock { state.isr.count <= 1 }
        return soleReplica ? advanceHighWatermark(to: log.logEndOffset) : false
    }
}
