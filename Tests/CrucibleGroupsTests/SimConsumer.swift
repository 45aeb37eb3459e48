import CrucibleGroups
import CrucibleProtocol
import NIOCore

/// A consumer as Kafka's classic (eager) client behaves: one request in flight per connection, join then
/// sync, the leader assigns with the range assignor, owned partitions are fetched, consumed and committed,
/// a rebalance revokes everything after a last commit, errors send it back to rejoin. A pause keeps its
/// stale ownership (a zombie after a long GC pause); a crash forgets everything but a static instance id.
struct SimConsumer {
    enum Phase { case idle, joining, syncing, fetching, stable }

    let index: Int
    let instanceId: String?
    let joinVersion: Int16
    var incarnation = 0
    var memberId = ""
    var generation: Int32 = -1
    var phase = Phase.idle
    var inFlightSince: Int64?
    var inFlightTimeoutMs: Int64 = 0
    var inFlightId: Int?
    var requestSeq = 0
    /// The request just issued, with its id (replies to any other request are stale and ignored).
    var outgoing: (id: Int, request: GroupSimulation.Request)?
    var pausedUntil: Int64 = 0
    var lastHeartbeat: Int64 = 0
    /// Positions of owned partitions (nil until fetched).
    var owned: [Int32: Int64] = [:]
    var assigned: [Int32] = []
    var rejoinAfterCommit = false
    static let requestTimeoutMs: Int64 = 3_000
    /// A JoinGroup (or a SyncGroup waiting for a slow leader) may take a whole rebalance: clients allow it the
    /// rebalance timeout and more.
    static let joinTimeoutMs: Int64 = 15_000

    private mutating func issue(_ request: GroupSimulation.Request, nowMs: Int64) -> GroupSimulation.Request {
        requestSeq += 1
        inFlightId = requestSeq
        inFlightSince = nowMs
        switch request {
        case .join, .sync: inFlightTimeoutMs = Self.joinTimeoutMs
        default: inFlightTimeoutMs = Self.requestTimeoutMs
        }
        outgoing = (requestSeq, request)
        return request
    }

    init(index: Int, instanceId: String?, joinVersion: Int16) {
        self.index = index
        self.joinVersion = joinVersion
        self.instanceId = instanceId
    }

    mutating func crash(at nowMs: Int64, random: inout SplitMix) {
        incarnation += 1
        memberId = ""
        generation = -1
        phase = .idle
        inFlightSince = nil
        inFlightId = nil
        owned = [:]
        assigned = []
        rejoinAfterCommit = false
        pausedUntil = nowMs + Int64(random.next(upTo: 5_000))
    }

    mutating func pause(until: Int64) { pausedUntil = max(pausedUntil, until) }

    private mutating func rejoin(resetId: Bool = false) {
        if resetId { memberId = "" }
        phase = .idle
        owned = [:]
        assigned = []
        rejoinAfterCommit = false
    }

    mutating func act(nowMs: Int64, quiet: Bool = false, random: inout SplitMix) -> GroupSimulation.Request? {
        guard nowMs >= pausedUntil else { return nil }
        if let since = inFlightSince {
            guard nowMs - since > inFlightTimeoutMs else { return nil }
            inFlightSince = nil  // the request or its reply was lost: start over
            inFlightId = nil
            if phase != .stable { rejoin() } else { return nil }
        }
        switch phase {
        case .idle:
            phase = .joining
            var join = JoinGroupRequest()
            join.groupId = GroupSimulation.groupId
            join.memberId = memberId
            join.groupInstanceId = instanceId
            join.sessionTimeoutMs = 6_000
            join.rebalanceTimeoutMs = 10_000
            join.protocolType = "consumer"
            var proto = JoinGroupRequest.JoinGroupRequestProtocol()
            proto.name = "range"
            proto.metadata = ByteBuffer(bytes: ConsumerProtocol.Subscription(topics: [GroupSimulation.topic]).encode())
            join.protocols = [proto]
            return issue(.join(join), nowMs: nowMs)
        case .joining, .syncing:
            return nil
        case .fetching:
            return issue(.fetch, nowMs: nowMs)
        case .stable:
            let roll = random.next(upTo: 100)
            if roll < 40 {
                for p in owned.keys { owned[p]! += Int64(1 + random.next(upTo: 20)) }
                return nil
            }
            if roll < 65, !owned.isEmpty { return issue(commit(), nowMs: nowMs) }
            if roll < 67, instanceId == nil, !quiet {
                var leave = LeaveGroupRequest()
                leave.groupId = GroupSimulation.groupId
                var me = LeaveGroupRequest.MemberIdentity()
                me.memberId = memberId
                leave.members = [me]
                let request = issue(.leave(leave), nowMs: nowMs)
                rejoin(resetId: true)
                phase = .joining  // waits for the LeaveGroup answer, then idles
                return request
            }
            if nowMs - lastHeartbeat >= 1_000 {
                lastHeartbeat = nowMs
                var heartbeat = HeartbeatRequest()
                heartbeat.groupId = GroupSimulation.groupId
                heartbeat.memberId = memberId
                heartbeat.groupInstanceId = instanceId
                heartbeat.generationId = generation
                return issue(.heartbeat(heartbeat), nowMs: nowMs)
            }
            return nil
        }
    }

    private mutating func commit() -> GroupSimulation.Request {
        var request = OffsetCommitRequest()
        request.groupId = GroupSimulation.groupId
        request.memberId = memberId
        request.groupInstanceId = instanceId
        request.generationIdOrMemberEpoch = generation
        var topic = OffsetCommitRequest.OffsetCommitRequestTopic()
        topic.name = GroupSimulation.topic
        topic.partitions = owned.keys.sorted().map { p in
            var entry = OffsetCommitRequest.OffsetCommitRequestPartition()
            entry.partitionIndex = p
            entry.committedOffset = owned[p]!
            return entry
        }
        request.topics = [topic]
        return .commit(request)
    }

    mutating func fetched(_ offsets: [Int32: Int64], incarnation: Int, requestId: Int) {
        guard incarnation == self.incarnation, requestId == inFlightId, phase == .fetching else { return }
        inFlightSince = nil
        inFlightId = nil
        owned = Dictionary(uniqueKeysWithValues: assigned.map { ($0, offsets[$0] ?? 0) })
        phase = .stable
    }

    /// Handles the reply to the request in flight; returns the request it sends next at once, if any.
    mutating func receive(_ reply: GroupReply, nowMs: Int64, random: inout SplitMix) -> GroupSimulation.Request? {
        guard inFlightSince != nil, nowMs >= pausedUntil else { return nil }
        inFlightSince = nil
        inFlightId = nil
        let code: ErrorCode
        switch reply {
        case .join(let response):
            code = ErrorCode(rawValue: response.errorCode)
            if code == .memberIdRequired {
                memberId = response.memberId
                phase = .idle
                return act(nowMs: nowMs, random: &random)
            }
            guard code == .none else { rejoin(resetId: code == .unknownMemberId || code == .fencedInstanceId); return nil }
            memberId = response.memberId
            generation = response.generationId
            var sync = SyncGroupRequest()
            sync.groupId = GroupSimulation.groupId
            sync.memberId = memberId
            sync.groupInstanceId = instanceId
            sync.generationId = generation
            if response.leader == memberId && !response.skipAssignment {
                var subscriptions: [String: ConsumerProtocol.Subscription] = [:]
                for member in response.members {
                    subscriptions[member.memberId] = try? ConsumerProtocol.Subscription.decode(Array(member.metadata.readableBytesView))
                }
                let assignments = ConsumerProtocol.rangeAssign(subscriptions: subscriptions,
                                                               partitionCounts: [GroupSimulation.topic: GroupSimulation.partitions])
                sync.assignments = assignments.keys.sorted().map { member in
                    var entry = SyncGroupRequest.SyncGroupRequestAssignment()
                    entry.memberId = member
                    entry.assignment = ByteBuffer(bytes: assignments[member]!.encode())
                    return entry
                }
            }
            phase = .syncing
            return issue(.sync(sync), nowMs: nowMs)
        case .sync(let response):
            code = ErrorCode(rawValue: response.errorCode)
            guard code == .none else { rejoin(resetId: code == .unknownMemberId || code == .fencedInstanceId); return nil }
            let assignment = try? ConsumerProtocol.Assignment.decode(Array(response.assignment.readableBytesView))
            assigned = assignment?.partitions.flatMap(\.partitions) ?? []
            phase = .fetching
            lastHeartbeat = nowMs
            return act(nowMs: nowMs, random: &random)
        case .heartbeat(let response):
            code = ErrorCode(rawValue: response.errorCode)
            if code == .rebalanceInProgress, !owned.isEmpty {
                // Eager rebalancing: commit what was consumed, then give everything up and rejoin.
                rejoinAfterCommit = true
                return issue(commit(), nowMs: nowMs)
            }
            if code != .none { rejoin(resetId: code == .unknownMemberId || code == .fencedInstanceId) }
            return nil
        case .txnOffsetCommit:
            return nil   // simulated consumers commit outside transactions
        case .offsetCommit(let response):
            code = ErrorCode(rawValue: response.topics.first?.partitions.first?.errorCode ?? 0)
            if rejoinAfterCommit || code == .rebalanceInProgress || code == .illegalGeneration || code == .unknownMemberId
                || code == .fencedInstanceId {
                rejoin(resetId: code == .unknownMemberId || code == .fencedInstanceId)
            }
            return nil
        case .leave:
            phase = .idle
            pausedUntil = nowMs + Int64(random.next(upTo: 3_000))
            return nil
        case .deleteGroup, .offsetDelete:
            return nil
        }
    }
}
