import CrucibleProtocol

/// The classic group protocol's states, with the names DescribeGroups and ListGroups report.
public enum GroupState: String, Sendable, CaseIterable {
    case empty = "Empty"
    case preparingRebalance = "PreparingRebalance"
    case completingRebalance = "CompletingRebalance"
    case stable = "Stable"
    case dead = "Dead"
}

/// The broker settings the coordinator acts on, named after Kafka's keys.
public struct GroupSettings: Sendable, Equatable {
    /// `group.min.session.timeout.ms` / `group.max.session.timeout.ms`.
    public var minSessionTimeoutMs: Int32 = 6_000
    public var maxSessionTimeoutMs: Int32 = 1_800_000
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an empty group waits for more members.
    public var initialRebalanceDelayMs: Int64 = 3_000
    /// `group.max.size`.
    public var maxSize = Int.max
    /// How long a new member's JoinGroup may wait before it is dropped (Kafka's fixed 5 minutes).
    public var newMemberJoinTimeoutMs: Int64 = 300_000
    /// `offsets.retention.minutes`, in ms.
    public var offsetsRetentionMs: Int64 = 7 * 24 * 3_600_000
    /// `offset.metadata.max.bytes`.
    public var offsetMetadataMaxBytes = 4096
    /// Test only: a deliberately broken rule the coordinator simulation must catch.
    public var plantedBug: PlantedBug? = nil

    public enum PlantedBug: Sendable, Equatable {
        /// Offset commits skip the member and generation checks.
        case acceptStaleCommits
        /// A leaving leader is not replaced.
        case keepLeaderAfterLeave
        /// Answering a SyncGroup does not start the member's session again.
        case noSessionAfterSync
    }

    public init() {}
}

/// A request waiting for its answer (a JoinGroup until the rebalance completes, a SyncGroup until the
/// assignment is stored); the shell maps it back to the client's connection.
public typealias RequestToken = UInt64

/// One member of a classic group.
public struct GroupMember: Sendable, Equatable {
    public var memberId: String
    public var instanceId: String?
    public var clientId: String
    public var clientHost: String
    public var rebalanceTimeoutMs: Int32
    public var sessionTimeoutMs: Int32
    public var protocolType: String
    /// (name, metadata) in the member's order of preference.
    public var protocols: [(name: String, metadata: [UInt8])]
    public var assignment: [UInt8] = []
    /// The JoinGroup waiting for this rebalance to complete.
    public var awaitingJoin: JoinWaiter?
    public var awaitingSync: RequestToken?
    /// When the member is removed unless it heartbeats (or is waiting in a join or sync).
    public var sessionDeadlineMs: Int64
    /// Joined in the current rebalance and never completed one: it expires on the new-member timeout.
    public var isNew = false

    public struct JoinWaiter: Sendable, Equatable {
        public var token: RequestToken
        public var version: Int16
    }

    public static func == (lhs: GroupMember, rhs: GroupMember) -> Bool {
        lhs.memberId == rhs.memberId && lhs.instanceId == rhs.instanceId && lhs.assignment == rhs.assignment
            && lhs.protocols.map(\.name) == rhs.protocols.map(\.name)
            && lhs.protocols.map(\.metadata) == rhs.protocols.map(\.metadata)
    }

    func metadata(for protocolName: String?) -> [UInt8] {
        protocols.first { $0.name == protocolName }?.metadata ?? []
    }

    func matches(_ other: [(name: String, metadata: [UInt8])]) -> Bool {
        protocols.map(\.name) == other.map(\.name) && protocols.map(\.metadata) == other.map(\.metadata)
    }
}

/// One group's state; the rules that change it live in `GroupShard`.
public struct ClassicGroup: Sendable {
    public let groupId: String
    public internal(set) var state: GroupState = .empty
    var previousState: GroupState = .empty
    public internal(set) var generation: Int32 = 0
    public internal(set) var protocolType: String?
    public internal(set) var protocolName: String?
    public internal(set) var leaderId: String?
    /// Members in the order they joined (the first to join leads a new generation).
    public internal(set) var members: [String: GroupMember] = [:]
    var joinOrder: [String] = []
    /// Member ids handed out with MEMBER_ID_REQUIRED and their expiry.
    var pendingMembers: [String: Int64] = [:]
    var staticMembers: [String: String] = [:]
    var pendingSync: Set<String> = []
    /// When the join phase ends whoever has rejoined.
    var joinDeadlineMs: Int64?
    /// The initial rebalance of an empty group: delay steps left.
    var initialDelay: (remainingMs: Int64, delayMs: Int64, newMemberAdded: Bool)?
    var syncDeadlineMs: Int64?
    public internal(set) var stateTimestampMs: Int64
    public internal(set) var offsets: [TopicPartitionKey: OffsetCommitValue] = [:]
    /// The write that last set each offset: completions applied out of order never move it back.
    var offsetWrites: [TopicPartitionKey: UInt64] = [:]
    /// Commits written but not yet acknowledged: expiry leaves such a group alone.
    var pendingCommits = 0
    /// Offsets committed in producers' open transactions (TxnOffsetCommit), by producer id, with the write that
    /// made each: they count once the producer's COMMIT marker lands, and are dropped on ABORT.
    var pendingTxnOffsets: [Int64: [TopicPartitionKey: (value: OffsetCommitValue, writeId: UInt64)]] = [:]

    init(groupId: String, nowMs: Int64) {
        self.groupId = groupId
        self.stateTimestampMs = nowMs
    }

    public var orderedMembers: [GroupMember] { joinOrder.compactMap { members[$0] } }

    var rebalanceTimeoutMs: Int64 {
        Int64(members.values.map(\.rebalanceTimeoutMs).max() ?? 0)
    }

    var hasAllMembersJoined: Bool {
        pendingMembers.isEmpty && members.values.allSatisfy { $0.awaitingJoin != nil }
    }

    /// The protocol every member supports that most members prefer (ties go to the earliest joiner's order).
    func selectProtocol() -> String? {
        let all = orderedMembers
        guard let first = all.first else { return nil }
        let candidates = first.protocols.map(\.name).filter { name in all.allSatisfy { $0.protocols.contains { $0.name == name } } }
        guard !candidates.isEmpty else { return nil }
        var votes: [String: Int] = [:]
        for member in all {
            if let vote = member.protocols.first(where: { candidates.contains($0.name) }) { votes[vote.name, default: 0] += 1 }
        }
        let most = candidates.map { votes[$0, default: 0] }.max()!
        return candidates.first { votes[$0, default: 0] == most }
    }

    /// A joining member's protocols can live with the group's: same type and at least one protocol in common.
    func supports(protocolType: String, protocols: [String]) -> Bool {
        if members.isEmpty { return !protocolType.isEmpty && !protocols.isEmpty }
        guard self.protocolType == protocolType else { return false }
        return protocols.contains { name in members.values.allSatisfy { $0.protocols.contains { $0.name == name } } }
    }

    mutating func transition(to next: GroupState, nowMs: Int64) {
        previousState = state
        state = next
        stateTimestampMs = nowMs
    }

    mutating func add(_ member: GroupMember) {
        if members.isEmpty { protocolType = member.protocolType }
        members[member.memberId] = member
        joinOrder.append(member.memberId)
        if let instance = member.instanceId { staticMembers[instance] = member.memberId }
        if leaderId == nil { leaderId = member.memberId }
    }

    mutating func remove(_ memberId: String, keepLeader: Bool = false) {
        pendingMembers.removeValue(forKey: memberId)
        pendingSync.remove(memberId)
        guard let member = members.removeValue(forKey: memberId) else { return }
        joinOrder.removeAll { $0 == memberId }
        if let instance = member.instanceId, staticMembers[instance] == memberId { staticMembers.removeValue(forKey: instance) }
        if leaderId == memberId && !keepLeader {
            leaderId = joinOrder.first { members[$0]?.awaitingJoin != nil } ?? joinOrder.first
        }
    }

    /// Offsets of consumer groups with members stay while a member subscribes to their topic.
    var subscribedTopics: Set<String>? {
        guard protocolType == "consumer", let protocolName else { return nil }
        var topics = Set<String>()
        for member in members.values {
            guard let subscription = try? ConsumerProtocol.Subscription.decode(member.metadata(for: protocolName)) else {
                return nil
            }
            topics.formUnion(subscription.topics)
        }
        return topics
    }

    /// The group as `__consumer_offsets` stores it.
    var metadataRecord: OffsetsTopicRecord {
        .groupMetadata(group: groupId, metadataValue)
    }

    private var metadataValue: GroupMetadataValue {
        GroupMetadataValue(
            protocolType: protocolType ?? "", generation: generation, protocolName: protocolName, leader: leaderId,
            currentStateTimestamp: stateTimestampMs,
            members: orderedMembers.map { member in
                GroupMetadataValue.Member(memberId: member.memberId, groupInstanceId: member.instanceId,
                                          clientId: member.clientId, clientHost: member.clientHost,
                                          rebalanceTimeoutMs: member.rebalanceTimeoutMs,
                                          sessionTimeoutMs: member.sessionTimeoutMs,
                                          subscription: member.metadata(for: protocolName), assignment: member.assignment)
            })
    }
}

public struct TopicPartitionKey: Hashable, Sendable, Comparable {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (lhs: TopicPartitionKey, rhs: TopicPartitionKey) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}
