import CrucibleController
import CrucibleMutations
import CrucibleProtocol
import CrucibleStorage
import NIOConcurrencyHelpers
import NIOCore

/// What the leader knows of one follower.
struct FollowerState: Equatable {
    /// The follower's log end offset: the offset it last fetched from (-1 until it fetches).
    var logEndOffset: Int64 = -1
    /// When it was last at the leader's log end: the clock `replica.lag.time.max.ms` runs against.
    var lastCaughtUpMs: Int64
}

/// A partition this broker hosts: its log and the replication state the metadata gives it.
///
/// As leader it tracks each follower's log end offset and keeps the high watermark at the lowest log end offset
/// in the ISR, never lower than before, and not moving while the ISR is smaller than `min.insync.replicas`.
/// ISR changes are proposed to the controller; while one is in flight the leader uses the larger of the
/// current and proposed ISR for the high watermark, as Kafka does (KIP-497), so an expansion is safe at once
/// and a shrink only takes effect once committed. As follower it takes the leader's high watermark, capped at
/// its own log end.
public final class Partition: @unchecked Sendable {
    public let topic: String
    public let index: Int32
    public let log: PartitionLog
    let nodeId: Int32
    private let lock = NIOLock()
    private var state: PartitionImage
    private var topicId: KafkaUUID
    private var highWatermarkValue: Int64
    private var settings: Settings
    private var followers: [Int32: FollowerState] = [:]
    /// An AlterPartition in flight: the ISR proposed, and the partition epoch it was proposed against.
    private var pendingIsr: (isr: [Int32], partitionEpoch: Int32)?
    /// The log end when this node became leader. A follower joins the ISR only once it has reached it as well as
    /// the high watermark: right after a restart the high watermark may be far behind, and a follower admitted on
    /// that alone could be elected without writes this leader had already had acknowledged.
    private var leaderEpochStartOffset: Int64 = 0

    struct Settings: Equatable {
        var minInsyncReplicas: Int32
        var logAppendTime: Bool
        /// This broker's replica is named in the topic's `leader.replication.throttled.replicas` (as leader)
        /// or `follower.replication.throttled.replicas` (as follower).
        var leaderThrottled = false
        var followerThrottled = false
    }

    init(topic: String, topicId: KafkaUUID, image: PartitionImage, log: PartitionLog, nodeId: Int32,
         settings: Settings, recoveredHighWatermark: Int64?, nowMs: Int64) {
        self.topic = topic
        self.index = image.partition
        self.log = log
        self.nodeId = nodeId
        self.topicId = topicId
        self.settings = settings
        state = image
        // A sole replica has committed all it holds; otherwise the checkpointed value (or 0) until replication
        // moves it.
        highWatermarkValue = image.replicas.count <= 1 ? log.logEndOffset
            : min(recoveredHighWatermark ?? 0, log.logEndOffset)
        resetFollowers(nowMs: nowMs)
        leaderEpochStartOffset = log.logEndOffset
    }

    public var id: KafkaUUID { lock.withLock { topicId } }
    public var image: PartitionImage { lock.withLock { state } }
    public var leaderEpoch: Int32 { lock.withLock { state.leaderEpoch } }
    public var highWatermark: Int64 { lock.withLock { highWatermarkValue } }
    public var minInsyncReplicas: Int32 { lock.withLock { settings.minInsyncReplicas } }
    public var logAppendTime: Bool { lock.withLock { settings.logAppendTime } }
    /// What read_committed consumers read up to: the high watermark, held back by transactions still open
    /// here (on followers too: KIP-392 consumers read from them).
    public var lastStableOffset: Int64 { log.lastStableOffset(highWatermark: highWatermark) }
    public var isLeader: Bool { lock.withLock { state.leader == nodeId } }
    /// The ISR the leader acts on: the committed one, widened by an expansion in flight.
    var effectiveIsr: [Int32] {
        lock.withLock { effectiveIsrLocked }
    }

    private var effectiveIsrLocked: [Int32] {
        guard let pending = pendingIsr else { return state.isr }
        return Array(Set(state.isr).union(pending.isr)).sorted()
    }

    /// Followers as the replica set has them; with `keep`, those already tracked keep their progress (a
    /// reassignment adding or removing replicas must not stall the high watermark of the others).
    private func resetFollowers(nowMs: Int64, keep: Bool = false) {
        let previous = keep ? followers : [:]
        followers = Dictionary(uniqueKeysWithValues: state.replicas.filter { $0 != nodeId }.map {
            ($0, previous[$0] ?? FollowerState(lastCaughtUpMs: nowMs))
        })
    }

    var settingsSnapshot: Settings { lock.withLock { settings } }

    /// Followers a consumer may be sent to read from (KIP-392): those holding `fetchOffset` and caught up
    /// within `lagMaxMs`, with their log end and when they last caught up.
    func readReplicaCandidates(fetchOffset: Int64, nowMs: Int64,
                               lagMaxMs: Int64) -> [(id: Int32, logEnd: Int64, lastCaughtUpMs: Int64)] {
        lock.withLock {
            guard state.leader == nodeId else { return [] }
            return followers.compactMap { id, follower in
                guard state.isr.contains(id), follower.logEndOffset >= fetchOffset,
                      nowMs - follower.lastCaughtUpMs <= lagMaxMs else { return nil }
                return (id, follower.logEndOffset, follower.lastCaughtUpMs)
            }
        }
    }

    /// Whether `replica` is in the ISR: throttles, leader or follower side, slow only replicas catching up.
    func isInSync(_ replica: Int32) -> Bool { lock.withLock { state.isr.contains(replica) } }

    enum RoleChange: Equatable {
        case none
        case becameLeader
        case becameFollower(leader: Int32)
        case leaderless
    }

    /// Takes the partition's new state from the metadata; says how this node's role changed.
    func update(image: PartitionImage, topicId: KafkaUUID, settings: Settings, nowMs: Int64) -> RoleChange {
        lock.withLock {
            let before = state
            state = image
            self.topicId = topicId
            self.settings = settings
            if let pending = pendingIsr, image.partitionEpoch > pending.partitionEpoch { pendingIsr = nil }
            let epochChanged = before.leaderEpoch != image.leaderEpoch || before.leader != image.leader
            guard epochChanged else {
                if before.replicas != image.replicas { resetFollowers(nowMs: nowMs, keep: true) }
                // A committed ISR shrink lets the high watermark pass the replicas that left, at once (Kafka's
                // maybeIncrementLeaderHW after an ISR update): waiting for the next append or fetch left acks=all
                // produces stuck until they timed out when every producer was waiting on one.
                if image.leader == nodeId && before.isr != image.isr { _ = recomputeHighWatermarkLocked(logEnd: log.logEndOffset) }
                return .none
            }
            pendingIsr = nil
            if image.leader == nodeId {
                if Mutation.reuseOffsetsAfterTruncation.isActive { try? log.truncate(to: highWatermarkValue) }
                resetFollowers(nowMs: nowMs)
                leaderEpochStartOffset = log.logEndOffset
                return .becameLeader
            }
            return image.leader >= 0 ? .becameFollower(leader: image.leader) : .leaderless
        }
    }

    // MARK: Leader side

    /// A follower fetched from `offset`: its log end is there. Returns whether the high watermark moved and
    /// whether the follower should now join the ISR (it has reached the high watermark).
    func followerFetched(_ replica: Int32, offset: Int64, nowMs: Int64) -> (highWatermarkMoved: Bool, joinIsr: Bool) {
        let end = log.logEndOffset
        return lock.withLock {
            guard state.leader == nodeId, followers[replica] != nil else { return (false, false) }
            followers[replica]!.logEndOffset = offset
            if offset >= end { followers[replica]!.lastCaughtUpMs = nowMs }
            let moved = recomputeHighWatermarkLocked(logEnd: end)
            let caughtUp = offset >= max(highWatermarkValue, leaderEpochStartOffset) || Mutation.isrAdmitsLaggingFollower.isActive
            let join = !effectiveIsrLocked.contains(replica) && caughtUp && pendingIsr == nil
            return (moved, join)
        }
    }

    /// After a local append as leader.
    func appendedAsLeader() -> Bool {
        let end = log.logEndOffset
        return lock.withLock { recomputeHighWatermarkLocked(logEnd: end) }
    }

    private func recomputeHighWatermarkLocked(logEnd: Int64) -> Bool {
        guard state.leader == nodeId else { return false }
        let isr = effectiveIsrLocked
        guard Int32(isr.count) >= settings.minInsyncReplicas || state.replicas.count <= 1 else { return false }
        var low = logEnd
        for member in isr where member != nodeId {
            low = min(low, followers[member]?.logEndOffset ?? -1)
        }
        if Mutation.highWatermarkPastIsr.isActive { low = logEnd }
        guard low > highWatermarkValue else { return false }
        highWatermarkValue = low
        return true
    }

    /// ISR members that have not caught up within `lagMaxMs`: the ISR to propose without them, if any.
    func laggingIsr(nowMs: Int64, lagMaxMs: Int64) -> [Int32]? {
        lock.withLock {
            guard state.leader == nodeId, pendingIsr == nil else { return nil }
            let lagging = state.isr.filter { member in
                member != nodeId && nowMs - (followers[member]?.lastCaughtUpMs ?? 0) > lagMaxMs
            }
            guard !lagging.isEmpty else { return nil }
            return state.isr.filter { !lagging.contains($0) }
        }
    }

    /// Records an AlterPartition about to be sent; nil when one is already in flight.
    func proposeIsr(_ isr: [Int32]) -> (leaderEpoch: Int32, partitionEpoch: Int32)? {
        lock.withLock {
            guard state.leader == nodeId, pendingIsr == nil, isr != state.isr else { return nil }
            pendingIsr = (isr, state.partitionEpoch)
            return (state.leaderEpoch, state.partitionEpoch)
        }
    }

    /// The controller refused or did not answer: forget the proposal so a later check can retry.
    func isrProposalFailed() {
        lock.withLock { pendingIsr = nil }
    }

    /// Whether the follower's fetch comes from a log that diverged from ours: the epoch and end offset it
    /// must truncate to (KIP-320/595), or nil when it is consistent.
    func divergence(fetchOffset: Int64, lastFetchedEpoch: Int32) -> (epoch: Int32, endOffset: Int64)? {
        guard lastFetchedEpoch >= 0 else { return nil }
        let (epoch, end) = log.endOffset(forEpoch: lastFetchedEpoch)
        if epoch == lastFetchedEpoch && end >= fetchOffset { return nil }
        return (epoch, end)
    }

    // MARK: Follower side

    /// Applies one fetch answer from the leader: truncates to where the logs diverge when the leader says they
    /// do (returning the new log end), else appends the whole batches and takes the leader's high watermark.
    @discardableResult
    func applyFetched(records: ByteBuffer?, diverging: (epoch: Int32, endOffset: Int64)?, leaderHighWatermark: Int64,
                      nowMs: Int64) throws -> Int64? {
        if let diverging {
            // The leader's log ends `epoch` at `endOffset`; ours may hold more of it, or a later epoch the leader
            // never had. Cut back to where both agree.
            let (localEpoch, localEnd) = log.endOffset(forEpoch: diverging.epoch)
            let target = max(0, min(diverging.endOffset, localEpoch >= 0 ? localEnd : 0))
            try log.truncate(to: target)
            clampHighWatermark()
            return target
        }
        if let records, records.readableBytes > 0 {
            _ = try log.appendAsFollower(records, nowMs: nowMs)
        }
        _ = followerHighWatermark(leaderHighWatermark)
        return nil
    }

    /// The leader's high watermark, capped at what this follower holds.
    func followerHighWatermark(_ leaderHighWatermark: Int64) -> Bool {
        let end = log.logEndOffset
        return lock.withLock {
            let next = min(leaderHighWatermark, end)
            guard next > highWatermarkValue else { return false }
            highWatermarkValue = next
            return true
        }
    }

    /// After truncation the high watermark cannot exceed the log end.
    func clampHighWatermark() {
        let end = log.logEndOffset
        lock.withLock { highWatermarkValue = min(highWatermarkValue, end) }
    }
}
