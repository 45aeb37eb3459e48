import CrucibleGroups
import CrucibleProtocol
import Foundation
import NIOCore
import NIOPosix

/// One member of a consumer group (the classic protocol, Kafka's RangeAssignor): joins, takes its assignment,
/// heartbeats from a timer on its own connection to the coordinator, commits, and leaves. The owner calls
/// `join()` again whenever `needsRejoin` turns true (a rebalance, a stale generation, a lost coordinator),
/// committing first while its generation is still current.
///
/// `join`, `commit`, `committed` and `leave` are for the owner's thread only; the heartbeat timer touches just
/// the membership fields, under `lock`.
public final class GroupMember: @unchecked Sendable {
    public struct Config: Sendable {
        public var sessionTimeoutMs: Int32 = 45_000
        /// Kafka's `max.poll.interval.ms`: how long the coordinator waits for members to rejoin.
        public var rebalanceTimeoutMs: Int32 = 300_000
        public var heartbeatIntervalMs: Int64 = 3_000
        public var groupInstanceId: String?

        public init() {}
    }

    public let group: String
    public let topics: [String]
    public let config: Config
    private let client: KafkaClient
    private let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    private let lock = NSLock()
    private var memberId = ""
    private var generation: Int32 = -1
    private var protocolName = "range"
    private var coordinator: BrokerConnection?
    private var rejoinNeeded = true
    private var heartbeatTask: RepeatedTask?
    public private(set) var assignment: [TopicPartition] = []
    /// As leader: the partition counts the last assignment was computed from (nil when not the leader).
    private var assignedPartitionCounts: [String: Int32]?

    public init(client: KafkaClient, group: String, topics: [String], config: Config = Config()) {
        self.client = client
        self.group = group
        self.topics = topics
        self.config = config
    }

    deinit {
        heartbeatTask?.cancel()
        coordinator?.close()
        try? eventLoops.syncShutdownGracefully()
    }

    /// Whether the group has moved on without this member's current assignment.
    public var needsRejoin: Bool { lock.withLock { rejoinNeeded } }

    /// The member id the coordinator gave (empty before the first join).
    public var currentMemberId: String { lock.withLock { memberId } }

    /// Joins (or rejoins) the group and returns this member's partitions. Retries coordinator moves and
    /// rebalances that start meanwhile, for a bounded number of rounds.
    public func join() throws -> [TopicPartition] {
        stopHeartbeats()
        var lastError: Error = KafkaClientError.timedOut("joining group \(group)")
        for _ in 0..<30 {
            do {
                let connection = try coordinatorConnection()
                let joined = try joinGroup(on: connection)
                let assigned = try syncGroup(joined, on: connection)
                lock.withLock { rejoinNeeded = false }
                assignment = assigned
                startHeartbeats()
                return assigned
            } catch let error as KafkaClientError {
                lastError = error
                switch error.errorCode {
                case .memberIdRequired?:
                    continue  // joinGroup kept the id it was given
                case .unknownMemberId?:
                    lock.withLock { (memberId, generation) = ("", -1) }
                case .rebalanceInProgress?, .illegalGeneration?:
                    continue
                case let code? where code.isCoordinatorError:
                    dropCoordinator()
                    Thread.sleep(forTimeInterval: 0.2)
                case nil:
                    // A dropped connection: find the coordinator again.
                    guard case .connection = error else { throw error }
                    dropCoordinator()
                    Thread.sleep(forTimeInterval: 0.2)
                default:
                    throw error
                }
            }
        }
        throw lastError
    }

    private struct Joined {
        var generation: Int32
        var leaderMembers: [String: ConsumerProtocol.Subscription]?
    }

    private func joinGroup(on connection: BrokerConnection) throws -> Joined {
        var request = JoinGroupRequest()
        request.groupId = group
        request.sessionTimeoutMs = config.sessionTimeoutMs
        request.rebalanceTimeoutMs = config.rebalanceTimeoutMs
        request.memberId = currentMemberId
        request.groupInstanceId = config.groupInstanceId
        request.protocolType = "consumer"
        var range = JoinGroupRequest.JoinGroupRequestProtocol()
        range.name = "range"
        range.metadata = ByteBuffer(bytes: ConsumerProtocol.Subscription(topics: topics).encode())
        request.protocols = [range]
        // The coordinator holds a join until every known member has rejoined, up to the rebalance timeout.
        let wait = TimeAmount.milliseconds(Int64(config.rebalanceTimeoutMs)) + client.requestTimeout
        let (response, _) = try connection.send(request, timeout: wait).wait()
        let code = ErrorCode(rawValue: response.errorCode)
        if code == .memberIdRequired {
            lock.withLock { memberId = response.memberId }
        }
        try code.check("joining group \(group)")
        lock.withLock {
            memberId = response.memberId
            generation = response.generationId
            protocolName = response.protocolName ?? "range"
        }
        guard response.leader == response.memberId, !response.skipAssignment else {
            return Joined(generation: response.generationId, leaderMembers: nil)
        }
        var members: [String: ConsumerProtocol.Subscription] = [:]
        for member in response.members {
            members[member.memberId] = try ConsumerProtocol.Subscription.decode(Array(member.metadata.readableBytesView))
        }
        return Joined(generation: response.generationId, leaderMembers: members)
    }

    /// The leader assigns every member's partitions with the RangeAssignor; everyone receives their own.
    private func syncGroup(_ joined: Joined, on connection: BrokerConnection) throws -> [TopicPartition] {
        var request = SyncGroupRequest()
        request.groupId = group
        request.generationId = joined.generation
        (request.memberId, request.protocolName) = lock.withLock { (memberId, protocolName) }
        request.groupInstanceId = config.groupInstanceId
        request.protocolType = "consumer"
        assignedPartitionCounts = nil
        if let members = joined.leaderMembers {
            let wanted = Array(Set(members.values.flatMap(\.topics))).sorted()
            let counts = try partitionCounts(wanted)
            assignedPartitionCounts = counts
            let assignments = ConsumerProtocol.rangeAssign(subscriptions: members, partitionCounts: counts)
            request.assignments = assignments.sorted { $0.key < $1.key }.map { member, assignment in
                var entry = SyncGroupRequest.SyncGroupRequestAssignment()
                entry.memberId = member
                entry.assignment = ByteBuffer(bytes: assignment.encode())
                return entry
            }
        }
        let (response, _) = try connection.send(request, timeout: client.requestTimeout).wait()
        try ErrorCode(rawValue: response.errorCode).check("syncing group \(group)")
        let assignment = try ConsumerProtocol.Assignment.decode(Array(response.assignment.readableBytesView))
        return assignment.partitions.filter { topics.contains($0.topic) }
            .flatMap { entry in entry.partitions.map { TopicPartition(entry.topic, $0) } }.sorted()
    }

    private func partitionCounts(_ topics: [String]) throws -> [String: Int32] {
        let metadata = try client.refreshMetadata(topics: topics)
        return metadata.topics.filter { topics.contains($0.key) }
            .compactMapValues { $0.error == .none ? Int32($0.partitions.count) : nil }
    }

    /// As leader, whether the subscribed topics gained partitions (or appeared) since the last assignment; the
    /// group then rebalances, as Kafka's leader does on a metadata change. Asks for fresh metadata.
    public func checkAssignedMetadata() throws {
        guard let assigned = assignedPartitionCounts else { return }
        let current = try partitionCounts(Array(Set(assigned.keys).union(topics)).sorted())
        // A topic missing from this answer (no leader for a moment) is no reason to rebalance.
        if current.contains(where: { assigned[$0.key] != $0.value }) { lock.withLock { rejoinNeeded = true } }
    }

    /// Commits `offsets` as this member of the current generation. A stale generation or an unknown member
    /// marks the member for rejoining; partition errors are thrown.
    public func commit(_ offsets: [TopicPartition: Int64]) throws {
        guard !offsets.isEmpty else { return }
        let (member, generation) = lock.withLock { (memberId, self.generation) }
        let request = KafkaClient.offsetCommitRequest(group: group, offsets, generation: generation, memberId: member,
                                                      groupInstanceId: config.groupInstanceId)
        let results: [TopicPartition: ErrorCode]
        do {
            results = try KafkaClient.offsetCommit(request, on: try coordinatorConnection(), timeout: client.requestTimeout)
        } catch let error as KafkaClientError where error.errorCode?.isCoordinatorError == true {
            dropCoordinator()
            throw error
        }
        for (partition, code) in results.sorted(by: { $0.key < $1.key }) where code != .none {
            noteMembershipError(code, generation: generation)
            throw KafkaClientError.kafka(code, message: "committing \(partition) for group \(group)")
        }
    }

    /// The committed offsets of `partitions` (those without one are left out).
    public func committed(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        return try client.committedOffsets(group: group, partitions: partitions).mapValues(\.offset)
    }

    /// Stops heartbeating and leaves the group so it rebalances at once rather than after the session timeout.
    public func leave() {
        stopHeartbeats()
        let member = currentMemberId
        guard !member.isEmpty, let connection = lock.withLock({ coordinator }) else { return }
        var request = LeaveGroupRequest()
        request.groupId = group
        request.memberId = member  // v0-2
        var identity = LeaveGroupRequest.MemberIdentity()
        identity.memberId = member
        identity.groupInstanceId = config.groupInstanceId
        identity.reason = "the consumer is being closed"
        request.members = [identity]  // v3+
        _ = try? connection.send(request, timeout: client.requestTimeout).wait()
        lock.withLock { (memberId, generation, rejoinNeeded) = ("", -1, true) }
    }

    // MARK: Coordinator connection and heartbeats

    private func coordinatorConnection() throws -> BrokerConnection {
        if let connection = lock.withLock({ coordinator }), connection.isActive { return connection }
        let address = try client.findCoordinator(group: group)
        let connection = try BrokerConnection.connect(host: address.host, port: address.port, group: eventLoops,
                                                      clientId: client.clientId, timeout: .seconds(10),
                                                      security: client.security)
        lock.withLock {
            coordinator?.close()
            coordinator = connection
        }
        return connection
    }

    private func dropCoordinator() {
        lock.withLock {
            coordinator?.close()
            coordinator = nil
        }
    }

    /// What a heartbeat or commit error says about this member's standing in `generation` (a late answer
    /// about an older generation says nothing).
    private func noteMembershipError(_ code: ErrorCode, generation asked: Int32) {
        lock.withLock {
            guard asked == generation else { return }
            switch code {
            case .rebalanceInProgress, .illegalGeneration:
                rejoinNeeded = true
            case .unknownMemberId, .fencedInstanceId:
                (memberId, generation, rejoinNeeded) = ("", -1, true)
            case let code where code.isCoordinatorError:
                coordinator?.close()
                coordinator = nil
                rejoinNeeded = true
            default:
                break
            }
        }
    }

    private func startHeartbeats() {
        let interval = TimeAmount.milliseconds(config.heartbeatIntervalMs)
        let loop = eventLoops.next()
        let task = loop.scheduleRepeatedAsyncTask(initialDelay: interval, delay: interval) { [weak self] _ in
            self?.heartbeat() ?? loop.makeSucceededVoidFuture()
        }
        lock.withLock { heartbeatTask = task }
    }

    private func stopHeartbeats() {
        lock.withLock {
            heartbeatTask?.cancel()
            heartbeatTask = nil
        }
    }

    /// One heartbeat; its answer decides whether the member must rejoin. Never fails the repeated task.
    private func heartbeat() -> EventLoopFuture<Void> {
        let loop = eventLoops.next()
        let (connection, member, generation, waiting) = lock.withLock { (coordinator, memberId, self.generation, rejoinNeeded) }
        guard let connection, !waiting else { return loop.makeSucceededVoidFuture() }
        var request = HeartbeatRequest()
        request.groupId = group
        request.generationId = generation
        request.memberId = member
        request.groupInstanceId = config.groupInstanceId
        // A heartbeat unanswered within the session is as good as none.
        let timeout = TimeAmount.milliseconds(Int64(config.sessionTimeoutMs))
        return connection.send(request, timeout: timeout).map { [weak self] response, _ in
            self?.noteMembershipError(ErrorCode(rawValue: response.errorCode), generation: generation)
        }.recover { [weak self] _ in
            self?.noteMembershipError(.coordinatorNotAvailable, generation: generation)
        }
    }
}
