import CrucibleProtocol
import NIOCore

// JoinGroup and the rebalance it drives: members rejoin, the join phase completes when every member has
// rejoined or the rebalance timeout passes, and the next generation starts in CompletingRebalance.
extension GroupShard {
    public mutating func join(_ request: JoinGroupRequest, version: Int16, clientId: String, clientHost: String,
                              token: RequestToken, nowMs: Int64) -> [GroupEffect] {
        func refuse(_ code: ErrorCode) -> [GroupEffect] {
            [.reply(token, .join(Self.joinError(code, memberId: request.memberId)))]
        }
        guard !request.groupId.isEmpty else { return refuse(.invalidGroupId) }
        guard (settings.minSessionTimeoutMs...settings.maxSessionTimeoutMs).contains(request.sessionTimeoutMs) else {
            return refuse(.invalidSessionTimeout)
        }
        var group: ClassicGroup
        if let existing = groups[request.groupId] {
            group = existing
        } else {
            // Only a first join (no member id) may create a group.
            guard request.memberId.isEmpty else { return refuse(.unknownMemberId) }
            group = ClassicGroup(groupId: request.groupId, nowMs: nowMs)
        }
        let isUnknown = request.memberId.isEmpty
        guard group.state != .dead else { return refuse(.coordinatorNotAvailable) }
        if isUnknown || group.pendingMembers[request.memberId] != nil, group.members.count >= settings.maxSize {
            return refuse(.groupMaxSizeReached)
        }
        guard group.supports(protocolType: request.protocolType, protocols: request.protocols.map(\.name)) else {
            return refuse(.inconsistentGroupProtocol)
        }
        // Past the refusals: a group created for this join exists from here on.
        defer { groups[request.groupId] = group }
        let protocols = request.protocols.map { (name: $0.name, metadata: Array($0.metadata.readableBytesView)) }
        let rebalanceTimeoutMs = version == 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs
        var newcomer = GroupMember(memberId: "", instanceId: request.groupInstanceId, clientId: clientId,
                                   clientHost: clientHost, rebalanceTimeoutMs: rebalanceTimeoutMs,
                                   sessionTimeoutMs: request.sessionTimeoutMs, protocolType: request.protocolType,
                                   protocols: protocols, awaitingJoin: .init(token: token, version: version),
                                   sessionDeadlineMs: nowMs + settings.newMemberJoinTimeoutMs)
        if isUnknown {
            newcomer.memberId = makeId(request.groupInstanceId ?? clientId)
            if let instance = request.groupInstanceId, let oldId = group.staticMembers[instance] {
                return rejoinStatic(&group, oldId: oldId, replacement: newcomer, version: version, token: token, nowMs: nowMs)
            }
            if request.groupInstanceId == nil && version >= 4 {
                // KIP-394: hand out the id and have the client join again with it, so a client that gives up
                // on a long JoinGroup does not leave a member behind.
                group.pendingMembers[newcomer.memberId] = nowMs + Int64(request.sessionTimeoutMs)
                var response = Self.joinError(.memberIdRequired, memberId: newcomer.memberId)
                response.memberId = newcomer.memberId
                return [.reply(token, .join(response))]
            }
            return addMember(&group, newcomer, nowMs: nowMs)
        }
        if group.pendingMembers.removeValue(forKey: request.memberId) != nil {
            newcomer.memberId = request.memberId
            return addMember(&group, newcomer, nowMs: nowMs)
        }
        if let error = group.validate(memberId: request.memberId, instanceId: request.groupInstanceId) {
            return refuse(error)
        }
        let member = group.members[request.memberId]!
        // A member that talks to us is alive, whichever answer it gets (Kafka renews only on some paths).
        group.members[request.memberId]!.sessionDeadlineMs = max(member.sessionDeadlineMs,
                                                                  nowMs + Int64(member.sessionTimeoutMs))
        switch group.state {
        case .preparingRebalance:
            return updateMember(&group, request.memberId, newcomer, nowMs: nowMs)
        case .completingRebalance where member.matches(protocols):
            // The member missed its JoinGroup response: the same answer again.
            return [.reply(token, .join(joinResponse(group, for: request.memberId)))]
        case .stable where member.matches(protocols) && group.leaderId != request.memberId:
            return [.reply(token, .join(joinResponse(group, for: request.memberId)))]
        case .completingRebalance, .stable:
            // A leader rejoining, or changed metadata, asks for a new assignment.
            return updateMember(&group, request.memberId, newcomer, nowMs: nowMs)
        case .empty, .dead:
            return refuse(.unknownMemberId)
        }
    }

    static func joinError(_ code: ErrorCode, memberId: String) -> JoinGroupResponse {
        var response = JoinGroupResponse()
        response.errorCode = code.rawValue
        response.memberId = code == .memberIdRequired ? memberId : ""
        response.protocolName = nil
        return response
    }

    func joinResponse(_ group: ClassicGroup, for memberId: String, skipAssignment: Bool = false) -> JoinGroupResponse {
        var response = JoinGroupResponse()
        response.memberId = memberId
        response.generationId = group.generation
        response.protocolType = group.protocolType
        response.protocolName = group.protocolName
        response.leader = group.leaderId ?? ""
        response.skipAssignment = skipAssignment
        if group.leaderId == memberId {
            response.members = group.orderedMembers.map { member in
                var described = JoinGroupResponse.JoinGroupResponseMember()
                described.memberId = member.memberId
                described.groupInstanceId = member.instanceId
                described.metadata = ByteBuffer(bytes: member.metadata(for: group.protocolName))
                return described
            }
        }
        return response
    }

    private mutating func addMember(_ group: inout ClassicGroup, _ member: GroupMember, nowMs: Int64) -> [GroupEffect] {
        if group.state == .preparingRebalance, group.initialDelay != nil { group.initialDelay!.newMemberAdded = true }
        var member = member
        // Until its first generation it expires on the new-member timeout, even while its JoinGroup waits.
        member.isNew = true
        group.add(member)
        return prepareRebalanceOrCompleteJoin(&group, nowMs: nowMs)
    }

    private mutating func updateMember(_ group: inout ClassicGroup, _ memberId: String, _ update: GroupMember,
                                       nowMs: Int64) -> [GroupEffect] {
        var effects: [GroupEffect] = []
        var member = group.members[memberId]!
        if let stale = member.awaitingJoin, stale.token != update.awaitingJoin?.token {
            effects.append(.reply(stale.token, .join(Self.joinError(.rebalanceInProgress, memberId: memberId))))
        }
        member.protocols = update.protocols
        member.rebalanceTimeoutMs = update.rebalanceTimeoutMs
        member.sessionTimeoutMs = update.sessionTimeoutMs
        member.awaitingJoin = update.awaitingJoin
        group.members[memberId] = member
        return effects + prepareRebalanceOrCompleteJoin(&group, nowMs: nowMs)
    }

    /// KIP-345: a static member's new incarnation replaces the old one. In a stable group with an unchanged
    /// protocol it keeps its assignment without a rebalance (only the new member id is stored).
    private mutating func rejoinStatic(_ group: inout ClassicGroup, oldId: String, replacement: GroupMember,
                                       version: Int16, token: RequestToken, nowMs: Int64) -> [GroupEffect] {
        var effects: [GroupEffect] = []
        let old = group.members[oldId]!
        if let stale = old.awaitingJoin {
            effects.append(.reply(stale.token, .join(Self.joinError(.fencedInstanceId, memberId: oldId))))
        }
        if let stale = old.awaitingSync {
            effects.append(.reply(stale, .sync(Self.syncError(.fencedInstanceId))))
        }
        let previousLeader = group.leaderId
        group.replaceMemberId(oldId, with: replacement.memberId)
        effects.append(.note("Static member with group.instance.id \(replacement.instanceId ?? "") rejoined group \(group.groupId) as \(replacement.memberId), replacing \(oldId)"))
        var member = group.members[replacement.memberId]!
        member.protocols = replacement.protocols
        member.rebalanceTimeoutMs = replacement.rebalanceTimeoutMs
        member.sessionTimeoutMs = replacement.sessionTimeoutMs
        member.clientId = replacement.clientId
        member.clientHost = replacement.clientHost
        member.awaitingJoin = nil
        member.awaitingSync = nil
        member.sessionDeadlineMs = nowMs + Int64(member.sessionTimeoutMs)
        group.members[replacement.memberId] = member
        switch group.state {
        case .stable where group.selectProtocol() == group.protocolName:
            let record = group.metadataRecord
            effects.append(append([record], .staticRejoin(group: group.groupId, token: token, version: version,
                                                          newMemberId: replacement.memberId, previous: old,
                                                          previousLeader: previousLeader)))
            return effects
        default:
            group.members[replacement.memberId]!.awaitingJoin = replacement.awaitingJoin
            if group.state == .completingRebalance { return effects + prepareRebalance(&group, nowMs: nowMs) }
            return effects + prepareRebalanceOrCompleteJoin(&group, nowMs: nowMs)
        }
    }

    /// v9+ tells a rejoining static leader it leads but must not assign (KIP-814); older clients are told the
    /// leader was its previous id, so they do not run an assignment a stable group will never send out.
    func staticRejoinResponse(_ group: ClassicGroup, memberId: String, version: Int16,
                              previousLeader: String?) -> JoinGroupResponse {
        let isLeader = group.leaderId == memberId
        if version >= 9 { return joinResponse(group, for: memberId, skipAssignment: isLeader) }
        var response = joinResponse(group, for: memberId)
        response.members = []
        response.leader = previousLeader ?? ""
        return response
    }

    // MARK: The rebalance

    mutating func prepareRebalanceOrCompleteJoin(_ group: inout ClassicGroup, nowMs: Int64) -> [GroupEffect] {
        switch group.state {
        case .stable, .completingRebalance, .empty:
            return prepareRebalance(&group, nowMs: nowMs)
        case .preparingRebalance where group.previousState != .empty && group.hasAllMembersJoined:
            return completeJoin(&group, nowMs: nowMs)
        default:
            return []
        }
    }

    mutating func prepareRebalance(_ group: inout ClassicGroup, nowMs: Int64) -> [GroupEffect] {
        var effects: [GroupEffect] = []
        if group.state == .completingRebalance {
            effects += resetAndPropagateAssignment(&group, error: .rebalanceInProgress, nowMs: nowMs)
        }
        group.syncDeadlineMs = nil
        let initial = group.state == .empty
        effects.append(.note("Preparing to rebalance group \(group.groupId) in state \(group.state.rawValue) with old generation \(group.generation)"))
        group.transition(to: .preparingRebalance, nowMs: nowMs)
        if initial {
            // A new group waits for more members before its first generation.
            let delay = settings.initialRebalanceDelayMs
            group.initialDelay = (max(group.rebalanceTimeoutMs - delay, 0), delay, false)
            group.joinDeadlineMs = nowMs + delay
            return effects
        }
        group.initialDelay = nil
        if group.hasAllMembersJoined { return effects + completeJoin(&group, nowMs: nowMs) }
        group.joinDeadlineMs = nowMs + group.rebalanceTimeoutMs
        return effects
    }

    mutating func resetAndPropagateAssignment(_ group: inout ClassicGroup, error: ErrorCode,
                                              nowMs: Int64) -> [GroupEffect] {
        var effects: [GroupEffect] = []
        for id in group.joinOrder {
            group.members[id]!.assignment = []
            if let token = group.members[id]!.awaitingSync {
                group.members[id]!.awaitingSync = nil
                if settings.plantedBug != .noSessionAfterSync { group.members[id]!.sessionDeadlineMs = nowMs + Int64(group.members[id]!.sessionTimeoutMs) }
                effects.append(.reply(token, .sync(Self.syncError(error))))
            }
        }
        return effects
    }

    /// Ends the join phase: members that did not rejoin leave (static ones stay until their session ends), and
    /// the next generation starts.
    mutating func completeJoin(_ group: inout ClassicGroup, nowMs: Int64) -> [GroupEffect] {
        group.joinDeadlineMs = nil
        group.initialDelay = nil
        for member in group.orderedMembers where member.awaitingJoin == nil && member.instanceId == nil {
            group.remove(member.memberId)
        }
        guard group.state != .dead else { return [] }
        if !group.members.isEmpty {
            if let leader = group.leaderId, group.members[leader]?.awaitingJoin != nil {
                // the leader stays
            } else if let joined = group.joinOrder.first(where: { group.members[$0]?.awaitingJoin != nil }) {
                group.leaderId = joined
            } else {
                // Nobody rejoined: wait another rebalance timeout for sessions to expire.
                group.joinDeadlineMs = nowMs + group.rebalanceTimeoutMs
                return []
            }
        }
        group.generation += 1
        if group.members.isEmpty {
            group.protocolName = nil
            group.leaderId = nil
            group.transition(to: .empty, nowMs: nowMs)
            let note = GroupEffect.note("Group \(group.groupId) with generation \(group.generation) is now empty")
            let record = group.metadataRecord
            return [note, append([record], .background)]
        }
        group.protocolName = group.selectProtocol()
        group.transition(to: .completingRebalance, nowMs: nowMs)
        var effects: [GroupEffect] = [.note("Stabilized group \(group.groupId) generation \(group.generation) (\(group.protocolName ?? "-")) with \(group.members.count) members")]
        for id in group.joinOrder {
            var member = group.members[id]!
            if let waiter = member.awaitingJoin {
                effects.append(.reply(waiter.token, .join(joinResponse(group, for: id))))
            }
            member.awaitingJoin = nil
            member.isNew = false
            member.sessionDeadlineMs = nowMs + Int64(member.sessionTimeoutMs)
            group.members[id] = member
            group.pendingSync.insert(id)
        }
        group.syncDeadlineMs = nowMs + group.rebalanceTimeoutMs
        return effects
    }
}

extension ClassicGroup {
    /// Kafka's member check: a static member must present the member id its instance id maps to.
    func validate(memberId: String, instanceId: String?) -> ErrorCode? {
        if let instanceId {
            guard let existing = staticMembers[instanceId] else { return .unknownMemberId }
            return existing == memberId ? nil : .fencedInstanceId
        }
        return members[memberId] == nil ? .unknownMemberId : nil
    }
}
