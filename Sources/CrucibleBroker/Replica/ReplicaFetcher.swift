import CrucibleSecurity
import CrucibleClient
import CrucibleMutations
import CrucibleProtocol
import CrucibleRecords
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Copies the partitions this node follows from one leader broker: fetch after fetch on a thread of its own,
/// with the follower's replica id, its log end as the fetch offset and the epoch of its last batch, so the
/// leader can say where the logs diverge (KIP-320/595) instead of the follower guessing from its high watermark.
final class ReplicaFetcher: @unchecked Sendable {
    let leaderId: Int32
    private let nodeId: Int32
    private let address: @Sendable () -> (host: String, port: Int)?
    private let group: EventLoopGroup
    private let logger: Logger
    private let onProgress: @Sendable (Partition) -> Void
    private let quota: ReplicationQuota
    private let lock = NIOLock()
    private let wakeup = NSCondition()
    private var partitions: [String: Partition] = [:]
    private var running = true
    private var connection: BrokerConnection?
    private var thread: Thread?

    /// `replica.fetch.*`: what each fetch asks of the leader.
    struct Limits: Sendable {
        var partitionMaxBytes: Int32
        var responseMaxBytes: Int32
        var maxWaitMs: Int32
    }
    private let limits: Limits
    private let security: ClientSecurity
    static let backoffMicros: UInt32 = 100_000

    init(leaderId: Int32, nodeId: Int32, address: @escaping @Sendable () -> (host: String, port: Int)?,
         group: EventLoopGroup, logger: Logger, quota: ReplicationQuota, limits: Limits, security: ClientSecurity,
         onProgress: @escaping @Sendable (Partition) -> Void) {
        self.leaderId = leaderId
        self.security = security
        self.limits = limits
        self.quota = quota
        self.nodeId = nodeId
        self.address = address
        self.group = group
        self.logger = logger
        self.onProgress = onProgress
        let thread = Thread { [weak self] in self?.run() }
        thread.name = "replica-fetcher-\(leaderId)"
        self.thread = thread
        thread.start()
    }

    var isEmpty: Bool { lock.withLock { partitions.isEmpty } }

    func add(_ partition: Partition) {
        lock.withLock { partitions[ReplicaManager.key(partition.topic, partition.index)] = partition }
        wakeup.lock(); wakeup.signal(); wakeup.unlock()
    }

    func remove(_ partition: Partition) {
        _ = lock.withLock { partitions.removeValue(forKey: ReplicaManager.key(partition.topic, partition.index)) }
    }

    func stop() {
        lock.withLock { running = false }
        wakeup.lock(); wakeup.signal(); wakeup.unlock()
        connection?.close()
    }

    private var isRunning: Bool { lock.withLock { running } }

    private func run() {
        while isRunning {
            let current = lock.withLock { Array(partitions.values) }
            if current.isEmpty {
                wakeup.lock()
                _ = wakeup.wait(until: Date().addingTimeInterval(1))
                wakeup.unlock()
                continue
            }
            // Throttled replicas still catching up sit out while the follower throttle is exceeded.
            let throttledOut = quota.isExceeded(nowMs: Clock.nowMs())
            let fetchable = throttledOut ? current.filter { !($0.settingsSnapshot.followerThrottled && !$0.isInSync(nodeId)) } : current
            if fetchable.isEmpty {
                usleep(Self.backoffMicros)
                continue
            }
            do {
                try fetchOnce(fetchable)
            } catch {
                logger.debug("fetch from \(leaderId) failed: \(error)")
                connection?.close()
                connection = nil
                usleep(Self.backoffMicros)
            }
        }
        connection?.close()
    }

    private func connect() throws -> BrokerConnection {
        if let connection { return connection }
        guard let (host, port) = address() else { throw KafkaClientError.connection("broker \(leaderId) has no address") }
        let made = try BrokerConnection.connect(host: host, port: port, group: group,
                                                clientId: "replica-fetcher-\(nodeId)", timeout: .seconds(2),
                                                security: security)
        connection = made
        return made
    }

    private func fetchOnce(_ current: [Partition]) throws {
        let connection = try connect()
        var request = FetchRequest()
        request.replicaId = nodeId
        request.replicaState.replicaId = nodeId
        request.maxWaitMs = limits.maxWaitMs
        request.minBytes = 1
        request.maxBytes = limits.responseMaxBytes
        request.sessionEpoch = -1
        var byTopic: [String: [Partition]] = [:]
        for partition in current { byTopic[partition.topic, default: []].append(partition) }
        request.topics = byTopic.map { topic, partitions in
            var entry = FetchRequest.FetchTopic()
            entry.topic = topic
            entry.topicId = partitions[0].id
            entry.partitions = partitions.map { partition in
                var wanted = FetchRequest.FetchPartition()
                wanted.partition = partition.index
                wanted.currentLeaderEpoch = partition.leaderEpoch
                wanted.fetchOffset = partition.log.logEndOffset
                wanted.lastFetchedEpoch = partition.log.lastEpoch
                if Mutation.skipDivergenceTruncation.isActive { wanted.lastFetchedEpoch = -1 }
                wanted.logStartOffset = partition.log.logStartOffset
                wanted.partitionMaxBytes = limits.partitionMaxBytes
                return wanted
            }
            return entry
        }
        let (response, _) = try connection.send(request, timeout: .seconds(10)).wait()
        var backOff = false
        for topic in response.responses {
            for data in topic.partitions {
                guard let partition = lock.withLock({ partitions[ReplicaManager.key(topic.topic, data.partitionIndex)] })
                else { continue }
                backOff = !apply(data, to: partition) || backOff
            }
        }
        if backOff { usleep(Self.backoffMicros) }
    }

    /// Applies one partition's answer; false when the fetcher should back off (an error to wait out).
    private func apply(_ data: FetchResponse.PartitionData, to partition: Partition) -> Bool {
        let code = ErrorCode(rawValue: data.errorCode)
        if code == .offsetOutOfRange, data.logStartOffset > partition.log.logEndOffset {
            // The leader no longer holds where this replica's log ends (records deleted below its log start):
            // start over from the leader's log start, as Kafka's followers do.
            do {
                try partition.log.reset(to: data.logStartOffset, nowMs: Clock.nowMs())
                partition.clampHighWatermark()
                logger.info("\(partition.topic)-\(partition.index): behind leader \(leaderId)'s log start; restarting at \(data.logStartOffset)")
                return true
            } catch {
                logger.warning("resetting \(partition.topic)-\(partition.index): \(error)")
                return false
            }
        }
        // Without epochs a follower ahead of its leader can only cut back to the high watermark (pre-KIP-101).
        if Mutation.skipDivergenceTruncation.isActive, code == .offsetOutOfRange {
            try? partition.log.truncate(to: data.highWatermark)
            partition.clampHighWatermark()
            return true
        }
        guard code == .none else {
            // The metadata will tell us about a new leader or epoch; until then, wait.
            logger.debug("fetch of \(partition.topic)-\(partition.index) from \(leaderId): \(code.name)")
            return false
        }
        do {
            let diverging = data.divergingEpoch.epoch >= 0 || data.divergingEpoch.endOffset >= 0
                ? (epoch: data.divergingEpoch.epoch, endOffset: data.divergingEpoch.endOffset) : nil
            if partition.settingsSnapshot.followerThrottled && !partition.isInSync(nodeId) {
                quota.record(bytes: data.records?.contiguousBytes?.readableBytes ?? 0, nowMs: Clock.nowMs())
            }
            if data.logStartOffset > partition.log.logStartOffset {
                try partition.log.advanceStartOffset(to: data.logStartOffset)
            }
            if let truncatedTo = try partition.applyFetched(records: data.records?.contiguousBytes, diverging: diverging,
                                                            leaderHighWatermark: data.highWatermark, nowMs: Clock.nowMs()) {
                logger.info("\(partition.topic)-\(partition.index): diverged from leader \(leaderId); truncated to \(truncatedTo)")
            }
            onProgress(partition)
            return true
        } catch {
            logger.warning("replicating \(partition.topic)-\(partition.index) from \(leaderId): \(error)")
            return false
        }
    }
}
