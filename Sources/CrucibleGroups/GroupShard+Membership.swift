import CrucibleProtocol
import NIOCore

// SyncGroup, Heartbeat, LeaveGroup and the clock: the parts of the protocol that keep a generation alive.
extension GroupShard {
    public mutating func sync(_ request: SyncGroupRequest, token: RequestToken, nowMs: Int64) -> [GroupEffect] {
        func refuse(_ code: ErrorCode) -> [GroupEffect] { [.reply(token, .sync(Self.syncError(code)))] }
        guard var group = groups[request.groupId] else { return refuse(.unknownMemberId) }
        defer { groups[request.groupId] = group }
        guard group.state != .dead else { return refuse(.coordinatorNotAvailable) }
        if let error = group.validate(memberId: request.memberId, instanceId: request.groupInstanceId) { return refuse(error) }
        guard request.generationId == group.generation else { return refuse(.illegalGeneration) }
        if let type = request.protocolType, type != group.protocolType { return refuse(.inconsistentGroupProtocol) }
        if let name = request.protocolName, name != group.protocolName { return refuse(.inconsistentGroupProtocol) }
        switch group.state {
        case .preparingRebalance:
            return refuse(.rebalanceInProgress)
        case .completingRebalance:
            var effects: [GroupEffect] = []
            if let stale = group.members[request.memberId]!.awaitingSync {
                effects.append(.reply(stale, .sync(Self.syncError(.rebalanceInProgress))))
            }
            group.members[request.memberId]!.awaitingSync = token
            group.members[request.memberId]!.sessionDeadlineMs = nowMs + Int64(group.members[request.memberId]!.sessionTimeoutMs)
            group.pendingSync.remove(request.memberId)
            guard group.leaderId == request.memberId else { return effects }
            // The leader's assignment: members it left out get an empty one. It is stored before anyone sees it.
            var assignments: [String: [UInt8]] = [:]
            for entry in request.assignments where group.members[entry.memberId] != nil {
                assignments[entry.memberId] = Array(entry.assignment.readableBytesView)
            }
            var stored = group
            for id in stored.joinOrder { stored.members[id]!.assignment = assignments[id] ?? [] }
            let record = stored.metadataRecord
            return effects + [append([record], .assignment(group: group.groupId, generation: group.generation,
                                                            assignments: assignments))]
        case .stable:
            group.pendingSync.remove(request.memberId)
            group.members[request.memberId]!.sessionDeadlineMs = nowMs + Int64(group.members[request.memberId]!.sessionTimeoutMs)
            return [.reply(token, .sync(syncResponse(group, assignment: group.members[request.memberId]!.assignment)))]
        case .empty, .dead:
            return refuse(.unknownMemberId)
        }
    }

    static func syncError(_ code: ErrorCode) -> SyncGroupResponse {
        var response = SyncGroupResponse()
        response.errorCode = code.rawValue
        return response
    }

    func syncResponse(_ group: ClassicGroup, assignment: [UInt8]) -> SyncGroupResponse {
        var response = SyncGroupResponse()
        response.protocolType = group.protocolType
        response.protocolName = group.protocolName
        response.assignment = ByteBuffer(bytes: assignment)
        return response
    }

    public mutating func heartbeat(_ request: HeartbeatRequest, nowMs: Int64) -> HeartbeatResponse {
        var response = HeartbeatResponse()
        response.errorCode = heartbeatError(request, nowMs: nowMs).rawValue
        return response
    }

    private mutating func heartbeatError(_ request: HeartbeatRequest, nowMs: Int64) -> ErrorCode {
        guard var group = groups[request.groupId] else { return .unknownMemberId }
        guard group.state != .dead else { return .coordinatorNotAvailable }
        if let error = group.validate(memberId: request.memberId, instanceId: request.groupInstanceId) { return error }
        guard request.generationId == group.generation else { return .illegalGeneration }
        guard group.state != .empty else { return .unknownMemberId }
        group.members[request.memberId]!.sessionDeadlineMs = nowMs + Int64(group.members[request.memberId]!.sessionTimeoutMs)
        groups[request.groupId] = group
        return group.state == .preparingRebalance ? .rebalanceInProgress : .none
    }

    /// LeaveGroup; below v3 the single member's error is the response's.
    public mutating func leave(_ request: LeaveGroupRequest, version: Int16, token: RequestToken, nowMs: Int64) -> [GroupEffect] {
        var identities = request.members
        if version < 3 {
            var only = LeaveGroupRequest.MemberIdentity()
            only.memberId = request.memberId
            identities = [only]
        }
        var response = LeaveGroupResponse()
        guard var group = groups[request.groupId] else {
            response.errorCode = ErrorCode.unknownMemberId.rawValue
            return [.reply(token, .leave(response))]
        }
        guard group.state != .dead else {
            response.errorCode = ErrorCode.coordinatorNotAvailable.rawValue
            return [.reply(token, .leave(response))]
        }
        var effects: [GroupEffect] = []
        var removedAny = false, pendingLeft = false
        for identity in identities {
            var result = LeaveGroupResponse.MemberResponse()
            result.memberId = identity.memberId
            result.groupInstanceId = identity.groupInstanceId
            var leaving: String?
            if identity.memberId.isEmpty {
                // Administrative removal by instance id.
                leaving = identity.groupInstanceId.flatMap { group.staticMembers[$0] }
                if leaving == nil { result.errorCode = ErrorCode.unknownMemberId.rawValue }
            } else if group.pendingMembers.removeValue(forKey: identity.memberId) != nil {
                leaving = nil
                pendingLeft = true
            } else if let error = group.validate(memberId: identity.memberId, instanceId: identity.groupInstanceId) {
                result.errorCode = error.rawValue
            } else {
                leaving = identity.memberId
            }
            if let leaving {
                effects += removeMember(&group, leaving)
                removedAny = true
            }
            response.members.append(result)
        }
        if removedAny {
            effects += afterRemoval(&group, nowMs: nowMs)
        } else if pendingLeft, group.state == .preparingRebalance, group.previousState != .empty, group.hasAllMembersJoined {
            effects += completeJoin(&group, nowMs: nowMs)
        }
        groups[request.groupId] = group
        if version < 3 {
            response.errorCode = response.members.first?.errorCode ?? 0
            response.members = []
        }
        return effects + [.reply(token, .leave(response))]
    }

    /// Removes a member, answering a JoinGroup it has waiting with UNKNOWN_MEMBER_ID so it starts over.
    mutating func removeMember(_ group: inout ClassicGroup, _ memberId: String) -> [GroupEffect] {
        guard let member = group.members[memberId] else { return [] }
        var effects: [GroupEffect] = []
        if let join = member.awaitingJoin {
            effects.append(.reply(join.token, .join(Self.joinError(.unknownMemberId, memberId: memberId))))
        }
        if let sync = member.awaitingSync {
            effects.append(.reply(sync, .sync(Self.syncError(.unknownMemberId))))
        }
        group.remove(memberId, keepLeader: settings.plantedBug == .keepLeaderAfterLeave)
        return effects
    }

    mutating func afterRemoval(_ group: inout ClassicGroup, nowMs: Int64) -> [GroupEffect] {
        switch group.state {
        case .stable, .completingRebalance:
            return prepareRebalanceOrCompleteJoin(&group, nowMs: nowMs)
        case .preparingRebalance where group.hasAllMembersJoined && group.previousState != .empty:
            return completeJoin(&group, nowMs: nowMs)
        default:
            return []
        }
    }

    // MARK: The clock

    /// Expires sessions, pending member ids, join phases and sync phases whose time has come.
    public mutating func tick(nowMs: Int64) -> [GroupEffect] {
        var effects: [GroupEffect] = []
        for groupId in groups.keys.sorted() {
            var group = groups[groupId]!
            for (id, deadline) in group.pendingMembers where deadline <= nowMs {
                group.pendingMembers.removeValue(forKey: id)
                if group.state == .preparingRebalance, group.hasAllMembersJoined, group.previousState != .empty {
                    effects += completeJoin(&group, nowMs: nowMs)
                }
            }
            for member in group.orderedMembers where member.sessionDeadlineMs <= nowMs {
                let waiting = member.awaitingJoin != nil || member.awaitingSync != nil
                guard member.isNew || !waiting else { continue }
                effects.append(.note("Member \(member.memberId) in group \(groupId) has failed (no heartbeat within \(member.sessionTimeoutMs) ms), removing it"))
                effects += removeMember(&group, member.memberId)
                effects += afterRemoval(&group, nowMs: nowMs)
            }
            if group.state == .preparingRebalance, let deadline = group.joinDeadlineMs, deadline <= nowMs {
                if let delay = group.initialDelay, delay.newMemberAdded, delay.remainingMs > 0 {
                    // Members are still arriving at a new group: wait a little longer, within the rebalance timeout.
                    let next = min(settings.initialRebalanceDelayMs, delay.remainingMs)
                    group.initialDelay = (max(delay.remainingMs - delay.delayMs, 0), next, false)
                    group.joinDeadlineMs = nowMs + next
                } else {
                    effects += completeJoin(&group, nowMs: nowMs)
                }
            }
            if let deadline = group.syncDeadlineMs, deadline <= nowMs {
                group.syncDeadlineMs = nil
                if group.state == .completingRebalance || group.state == .stable, !group.pendingSync.isEmpty {
                    // Members that never sent SyncGroup are gone; the rest rebalance without them.
                    effects.append(.note("Members \(group.pendingSync.sorted()) of group \(groupId) did not sync in generation \(group.generation), removing them"))
                    for id in group.pendingSync.sorted() { effects += removeMember(&group, id) }
                    effects += prepareRebalanceOrCompleteJoin(&group, nowMs: nowMs)
                }
            }
            groups[groupId] = group
        }
        return effects
    }
}
