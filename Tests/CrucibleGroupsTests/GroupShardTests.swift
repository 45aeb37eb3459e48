import CrucibleGroups
import CrucibleProtocol
import NIOCore
import XCTest

/// Kafka's classic group rules, one at a time, on the pure shard.
final class GroupShardTests: XCTestCase {
    private var shard: GroupShard = {
        let counter = Counter()
        return GroupShard(settings: GroupShardTests.settings, makeId: { prefix in "\(prefix)-\(counter.next())" })
    }()
    private var token: RequestToken = 0
    private var writes: [UInt64: [OffsetsTopicRecord]] = [:]

    private static var settings: GroupSettings {
        var settings = GroupSettings()
        settings.initialRebalanceDelayMs = 0
        return settings
    }

    private func joinRequest(_ memberId: String = "", instance: String? = nil, protocols: [String] = ["range"],
                             session: Int32 = 10_000, type: String = "consumer") -> JoinGroupRequest {
        var request = JoinGroupRequest()
        request.groupId = "g"
        request.memberId = memberId
        request.groupInstanceId = instance
        request.sessionTimeoutMs = session
        request.rebalanceTimeoutMs = 20_000
        request.protocolType = type
        request.protocols = protocols.map { name in
            var proto = JoinGroupRequest.JoinGroupRequestProtocol()
            proto.name = name
            proto.metadata = ByteBuffer(bytes: ConsumerProtocol.Subscription(topics: ["t"]).encode())
            return proto
        }
        return request
    }

    /// Runs `body` with a fresh token; completes any writes it asks for; returns the replies to that token.
    private func drive(at now: Int64 = 0, _ body: (inout GroupShard, RequestToken) -> [GroupEffect]) -> [GroupReply] {
        token += 1
        let mine = token
        var effects = body(&shard, mine)
        var replies: [GroupReply] = []
        while !effects.isEmpty {
            var next: [GroupEffect] = []
            for effect in effects {
                switch effect {
                case .reply(let t, let reply): if t == mine { replies.append(reply) } else { pending.append((t, reply)) }
                case .note: break
                case .append(let id, let records), .appendTransactional(let id, _, _, let records):
                    writes[id] = records
                    next += shard.writeCompleted(id, error: .none, nowMs: now)
                }
            }
            effects = next
        }
        return replies
    }

    private var pending: [(RequestToken, GroupReply)] = []

    /// Advances the clock; replies it produces land in `pending`, writes complete at once.
    private func tick(_ now: Int64) {
        _ = drive(at: now) { shard, _ in shard.tick(nowMs: now) }
    }

    private func lastPendingJoin() -> JoinGroupResponse? {
        defer { pending.removeAll() }
        return pending.compactMap { if case .join(let r) = $0.1 { r } else { nil } }.last
    }

    private func join(_ request: JoinGroupRequest, version: Int16 = 9, now: Int64 = 0) -> JoinGroupResponse? {
        for reply in drive(at: now, { $0.join(request, version: version, clientId: "c", clientHost: "/h", token: $1, nowMs: now) }) {
            if case .join(let response) = reply { return response }
        }
        return nil
    }

    private func sync(_ member: String, generation: Int32, assignments: [String: [Int32]] = [:]) -> SyncGroupResponse? {
        var request = SyncGroupRequest()
        request.groupId = "g"
        request.memberId = member
        request.generationId = generation
        request.assignments = assignments.map { id, partitions in
            var entry = SyncGroupRequest.SyncGroupRequestAssignment()
            entry.memberId = id
            entry.assignment = ByteBuffer(bytes: ConsumerProtocol.Assignment(partitions: [.init(topic: "t", partitions: partitions)]).encode())
            return entry
        }
        for reply in drive({ $0.sync(request, token: $1, nowMs: 0) }) { if case .sync(let r) = reply { return r } }
        return nil
    }

    private func heartbeat(_ member: String, generation: Int32, instance: String? = nil, now: Int64 = 0) -> ErrorCode {
        var request = HeartbeatRequest()
        request.groupId = "g"
        request.memberId = member
        request.generationId = generation
        request.groupInstanceId = instance
        return ErrorCode(rawValue: shard.heartbeat(request, nowMs: now).errorCode)
    }

    private func commit(_ member: String, generation: Int32, offset: Int64, topic: String = "t") -> ErrorCode {
        var request = OffsetCommitRequest()
        request.groupId = "g"
        request.memberId = member
        request.generationIdOrMemberEpoch = generation
        var t = OffsetCommitRequest.OffsetCommitRequestTopic()
        t.name = topic
        var p = OffsetCommitRequest.OffsetCommitRequestPartition()
        p.committedOffset = offset
        t.partitions = [p]
        request.topics = [t]
        for reply in drive({ $0.commitOffsets(request, version: 8, token: $1, nowMs: 0, knownTopic: { $0 == "t" }) }) {
            if case .offsetCommit(let r) = reply { return ErrorCode(rawValue: r.topics[0].partitions[0].errorCode) }
        }
        return .unknownServerError
    }

    /// One member joined (KIP-394 round trip) and synced: (member id, generation).
    private func stableSingleMember() -> (String, Int32) {
        let first = join(joinRequest())!
        XCTAssertEqual(ErrorCode(rawValue: first.errorCode), .memberIdRequired)
        XCTAssertNil(join(joinRequest(first.memberId)), "the first rebalance waits for the initial delay")
        tick(1)
        let response = lastPendingJoin()!
        XCTAssertEqual(response.leader, first.memberId)
        XCTAssertEqual(sync(first.memberId, generation: response.generationId, assignments: [first.memberId: [0]])?.errorCode, 0)
        return (first.memberId, response.generationId)
    }

    func testFirstJoinGetsAMemberIdThenLeadsWithEveryMembersMetadata() {
        let (member, generation) = stableSingleMember()
        XCTAssertEqual(generation, 1)
        XCTAssertEqual(shard.groups["g"]?.state, .stable)
        XCTAssertEqual(shard.describe("g").members.map(\.memberId), [member])
        // The stored group metadata carries the assignment.
        let stored = writes.values.flatMap { $0 }.compactMap { r -> GroupMetadataValue? in
            if case .groupMetadata(_, let v?) = r { v } else { nil } }.last
        XCTAssertEqual(stored?.generation, 1)
        XCTAssertFalse(stored?.members.first?.assignment.isEmpty ?? true)
    }

    func testSessionTimeoutOutsideTheBoundsIsRefused() {
        XCTAssertEqual(join(joinRequest(session: 5_999)).map { ErrorCode(rawValue: $0.errorCode) }, .invalidSessionTimeout)
        XCTAssertEqual(join(joinRequest(session: 1_800_001)).map { ErrorCode(rawValue: $0.errorCode) }, .invalidSessionTimeout)
    }

    func testProtocolsMustOverlapAndUnknownMembersAreRefused() {
        let (_, _) = stableSingleMember()
        XCTAssertEqual(join(joinRequest(protocols: ["roundrobin"])).map { ErrorCode(rawValue: $0.errorCode) },
                       .inconsistentGroupProtocol)
        XCTAssertEqual(join(joinRequest("nobody")).map { ErrorCode(rawValue: $0.errorCode) }, .unknownMemberId)
    }

    func testHeartbeatErrorsFollowKafka() {
        let (member, generation) = stableSingleMember()
        XCTAssertEqual(heartbeat(member, generation: generation), .none)
        XCTAssertEqual(heartbeat(member, generation: generation - 1), .illegalGeneration)
        XCTAssertEqual(heartbeat("nobody", generation: generation), .unknownMemberId)
        // A second member joining puts the group into a rebalance the first learns of by heartbeat.
        let newcomer = join(joinRequest())!.memberId
        _ = join(joinRequest(newcomer))
        XCTAssertEqual(shard.groups["g"]?.state, .preparingRebalance)
        XCTAssertEqual(heartbeat(member, generation: generation), .rebalanceInProgress)
    }

    func testSilentMemberIsRemovedAfterItsSession() {
        let (member, _) = stableSingleMember()
        _ = shard.tick(nowMs: 9_999)
        XCTAssertNotNil(shard.groups["g"]?.members[member])
        let effects = shard.tick(nowMs: 10_001)
        XCTAssertNil(shard.groups["g"]?.members[member])
        XCTAssertEqual(shard.groups["g"]?.state, .empty)
        XCTAssertTrue(effects.contains { if case .append = $0 { true } else { false } }, "the empty generation is stored")
    }

    func testCommitsFromOutsideTheGroupOnlyWhileItIsEmpty() {
        XCTAssertEqual(commit("", generation: -1, offset: 5), .none, "a group nobody manages takes admin commits")
        XCTAssertEqual(commit("", generation: -1, offset: 6, topic: "gone"), .unknownTopicOrPartition)
        XCTAssertEqual(shard.committedOffsets("g", nil)[TopicPartitionKey("t", 0)]?.offset, 5)
        let (member, generation) = stableSingleMember()
        XCTAssertEqual(commit("", generation: -1, offset: 7), .unknownMemberId)
        XCTAssertEqual(commit(member, generation: generation + 1, offset: 7), .illegalGeneration)
        XCTAssertEqual(commit(member, generation: generation, offset: 8), .none)
        XCTAssertEqual(shard.committedOffsets("g", nil)[TopicPartitionKey("t", 0)]?.offset, 8)
    }

    func testFailedWriteLeavesTheOffsetAndAnswersCoordinatorErrors() {
        var request = OffsetCommitRequest()
        request.groupId = "g"
        var t = OffsetCommitRequest.OffsetCommitRequestTopic()
        t.name = "t"
        t.partitions = [OffsetCommitRequest.OffsetCommitRequestPartition()]
        t.partitions[0].committedOffset = 3
        request.topics = [t]
        let effects = shard.commitOffsets(request, version: 8, token: 99, nowMs: 0, knownTopic: { _ in true })
        guard case .append(let id, _)? = effects.first else { return XCTFail("no write") }
        let replies = shard.writeCompleted(id, error: .notEnoughReplicas, nowMs: 0)
        guard case .reply(99, .offsetCommit(let response))? = replies.first else { return XCTFail("no reply") }
        XCTAssertEqual(ErrorCode(rawValue: response.topics[0].partitions[0].errorCode), .coordinatorNotAvailable)
        XCTAssertNil(shard.committedOffsets("g", nil)[TopicPartitionKey("t", 0)])
    }

    func testStaticMemberRejoinKeepsItsAssignmentAndFencesTheOldId() {
        XCTAssertNil(join(joinRequest(instance: "i1")), "a static member needs no member id round trip")
        tick(1)
        let response = lastPendingJoin()!
        let oldId = response.memberId
        XCTAssertEqual(sync(oldId, generation: response.generationId, assignments: [oldId: [0, 1]])?.errorCode, 0)
        let rejoined = join(joinRequest(instance: "i1"))!
        XCTAssertEqual(rejoined.errorCode, 0)
        XCTAssertNotEqual(rejoined.memberId, oldId)
        XCTAssertEqual(rejoined.generationId, response.generationId, "no rebalance")
        XCTAssertTrue(rejoined.skipAssignment, "a rejoining static leader (v9) keeps the assignment")
        XCTAssertEqual(shard.groups["g"]?.state, .stable)
        let assignment = sync(rejoined.memberId, generation: rejoined.generationId).map { Array($0.assignment.readableBytesView) }
        XCTAssertEqual(try ConsumerProtocol.Assignment.decode(assignment ?? []).partitions.first?.partitions, [0, 1])
        XCTAssertEqual(heartbeat(oldId, generation: response.generationId, instance: "i1"), .fencedInstanceId)
    }

    func testDeleteGroupsAndOffsetDeleteRefuseActiveGroups() {
        let (member, generation) = stableSingleMember()
        XCTAssertEqual(commit(member, generation: generation, offset: 4), .none)
        let refused = drive { $0.deleteGroup("g", token: $1) }
        if case .deleteGroup(let result)? = refused.first {
            XCTAssertEqual(ErrorCode(rawValue: result.errorCode), .nonEmptyGroup)
        } else { XCTFail("no answer") }
        var request = OffsetDeleteRequest()
        request.groupId = "g"
        var t = OffsetDeleteRequest.OffsetDeleteRequestTopic()
        t.name = "t"
        t.partitions = [OffsetDeleteRequest.OffsetDeleteRequestPartition()]
        request.topics = [t]
        if case .offsetDelete(let response)? = drive({ $0.deleteOffsets(request, token: $1) }).first {
            XCTAssertEqual(ErrorCode(rawValue: response.topics[0].partitions[0].errorCode), .groupSubscribedToTopic)
        } else { XCTFail("no answer") }
        var leave = LeaveGroupRequest()
        leave.groupId = "g"
        var me = LeaveGroupRequest.MemberIdentity()
        me.memberId = member
        leave.members = [me]
        _ = drive { $0.leave(leave, version: 5, token: $1, nowMs: 0) }
        XCTAssertEqual(shard.groups["g"]?.state, .empty)
        if case .deleteGroup(let result)? = drive({ $0.deleteGroup("g", token: $1) }).first {
            XCTAssertEqual(result.errorCode, 0)
        } else { XCTFail("no answer") }
        XCTAssertNil(shard.groups["g"])
        if case .deleteGroup(let result)? = drive({ $0.deleteGroup("g", token: $1) }).first {
            XCTAssertEqual(ErrorCode(rawValue: result.errorCode), .groupIdNotFound)
        } else { XCTFail("no answer") }
    }

    func testOffsetsOfAnEmptyGroupExpireAfterTheRetention() {
        XCTAssertEqual(commit("", generation: -1, offset: 5), .none)
        let retention = Self.settings.offsetsRetentionMs
        XCTAssertTrue(shard.expireOffsets(nowMs: retention - 1).isEmpty)
        let effects = shard.expireOffsets(nowMs: retention + 1)
        guard case .append(_, let records)? = effects.first else { return XCTFail("nothing expired") }
        XCTAssertTrue(records.contains(.offsetCommit(OffsetCommitKey(group: "g", topic: "t", partition: 0), nil)))
        XCTAssertNil(shard.groups["g"], "an empty group left without offsets goes")
    }

    func testALoadedShardResumesTheStableGroupWithoutARebalance() {
        let (member, generation) = stableSingleMember()
        XCTAssertEqual(commit(member, generation: generation, offset: 11), .none)
        let log = writes.keys.sorted().flatMap { writes[$0]! }
        let loaded = GroupShard.loaded(from: log, settings: Self.settings, nowMs: 100, makeId: { "\($0)-x" })
        shard = loaded
        XCTAssertEqual(shard.groups["g"]?.state, .stable)
        XCTAssertEqual(heartbeat(member, generation: generation, now: 100), .none)
        XCTAssertEqual(shard.committedOffsets("g", nil)[TopicPartitionKey("t", 0)]?.offset, 11)
    }

    func testStaticLeaderRejoiningBelowV9IsToldThePreviousLeader() {
        XCTAssertNil(join(joinRequest(instance: "i1"), version: 5))
        tick(1)
        let first = lastPendingJoin()!
        XCTAssertEqual(sync(first.memberId, generation: first.generationId, assignments: [first.memberId: [0]])?.errorCode, 0)
        let rejoined = join(joinRequest(instance: "i1"), version: 5)!
        XCTAssertEqual(rejoined.leader, first.memberId, "an old client must not think it leads and reassign")
        XCTAssertTrue(rejoined.members.isEmpty)
        XCTAssertFalse(rejoined.skipAssignment)
    }

    func testCommitChecksRunInKafkasOrder() {
        XCTAssertEqual(commitVersion9ToUnknownGroup(), .groupIdNotFound)
        let (member, generation) = stableSingleMember()
        let newcomer = join(joinRequest())!.memberId
        _ = join(joinRequest(newcomer))
        _ = join(joinRequest(member))  // both rejoined: the group is completing its rebalance
        XCTAssertEqual(shard.groups["g"]?.state, .completingRebalance)
        XCTAssertEqual(commit("gone", generation: generation + 1, offset: 1), .unknownMemberId, "not REBALANCE_IN_PROGRESS")
        XCTAssertEqual(commit(member, generation: generation, offset: 1), .illegalGeneration)
        XCTAssertEqual(commit(member, generation: generation + 1, offset: 1), .rebalanceInProgress)
    }

    private func commitVersion9ToUnknownGroup() -> ErrorCode {
        var request = OffsetCommitRequest()
        request.groupId = "nobody"
        request.generationIdOrMemberEpoch = 3
        var t = OffsetCommitRequest.OffsetCommitRequestTopic()
        t.name = "t"
        t.partitions = [OffsetCommitRequest.OffsetCommitRequestPartition()]
        request.topics = [t]
        for reply in drive({ $0.commitOffsets(request, version: 9, token: $1, nowMs: 0, knownTopic: { _ in true }) }) {
            if case .offsetCommit(let r) = reply { return ErrorCode(rawValue: r.topics[0].partitions[0].errorCode) }
        }
        return .unknownServerError
    }
}
