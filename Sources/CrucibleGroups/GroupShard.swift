import CrucibleProtocol

/// What the coordinator asks of its shell: answer a waiting request, or append records to its
/// `__consumer_offsets` partition (and report back through `writeCompleted`).
public enum GroupEffect: Sendable {
    case reply(RequestToken, GroupReply)
    case append(writeId: UInt64, records: [OffsetsTopicRecord])
    /// Records of a producer's transaction (TxnOffsetCommit): written with its id and epoch, in effect only once
    /// its COMMIT marker lands (`completeTransaction`).
    case appendTransactional(writeId: UInt64, producerId: Int64, producerEpoch: Int16, records: [OffsetsTopicRecord])
    /// Something an operator wants in the log (rebalances, members dropped), worded as Kafka logs it.
    case note(String)
}

public enum GroupReply: Sendable {
    case join(JoinGroupResponse)
    case sync(SyncGroupResponse)
    case heartbeat(HeartbeatResponse)
    case leave(LeaveGroupResponse)
    case offsetCommit(OffsetCommitResponse)
    case txnOffsetCommit(TxnOffsetCommitResponse)
    case deleteGroup(DeleteGroupsResponse.DeletableGroupResult)
    case offsetDelete(OffsetDeleteResponse)
}

/// The groups whose coordinator lives on one `__consumer_offsets` partition, as a pure state machine: requests,
/// ticks of the clock and write completions in; replies and records to write out. The shell owns the log, the
/// timers and the connections; everything here is deterministic, so the simulation in the tests drives the
/// very same code with lost, delayed and failed writes and requests.
public struct GroupShard: Sendable {
    public let settings: GroupSettings
    public internal(set) var groups: [String: ClassicGroup] = [:]
    var pendingWrites: [UInt64: PendingWrite] = [:]
    var nextWriteId: UInt64 = 1
    /// Makes member ids (`client.id` + "-" + a UUID in the broker; a counter in the simulation).
    let makeId: @Sendable (String) -> String

    enum PendingWrite: Sendable {
        case offsets(group: String, token: RequestToken, response: OffsetCommitResponse,
                     values: [TopicPartitionKey: OffsetCommitValue])
        case txnOffsets(group: String, token: RequestToken, response: TxnOffsetCommitResponse, producerId: Int64,
                        values: [TopicPartitionKey: OffsetCommitValue])
        case assignment(group: String, generation: Int32, assignments: [String: [UInt8]])
        case staticRejoin(group: String, token: RequestToken, version: Int16, newMemberId: String, previous: GroupMember,
                          previousLeader: String?)
        case deleteGroup(group: String, token: RequestToken)
        case offsetDelete(group: String, token: RequestToken, response: OffsetDeleteResponse)
        case background
    }

    public init(settings: GroupSettings, makeId: @escaping @Sendable (String) -> String) {
        self.settings = settings
        self.makeId = makeId
    }

    mutating func append(_ records: [OffsetsTopicRecord], _ pending: PendingWrite,
                         transaction: (producerId: Int64, epoch: Int16)? = nil) -> GroupEffect {
        let id = nextWriteId
        nextWriteId += 1
        pendingWrites[id] = pending
        guard let transaction else { return .append(writeId: id, records: records) }
        return .appendTransactional(writeId: id, producerId: transaction.producerId, producerEpoch: transaction.epoch, records: records)
    }

    /// Kafka's mapping of a failed `__consumer_offsets` append to what a group client understands.
    public static func coordinatorError(for appendError: ErrorCode, offsets: Bool) -> ErrorCode {
        switch appendError {
        case .unknownTopicOrPartition, .notEnoughReplicas, .notEnoughReplicasAfterAppend, .requestTimedOut:
            return .coordinatorNotAvailable
        case .notLeaderOrFollower, .kafkaStorageError:
            return .notCoordinator
        case .messageTooLarge, .recordListTooLarge, .invalidFetchSize:
            return offsets ? .invalidCommitOffsetSize : .unknownServerError
        default:
            return appendError
        }
    }

    /// Answers every request waiting here with NOT_COORDINATOR: the partition moved to another broker.
    public mutating func unload() -> [GroupEffect] {
        var effects: [GroupEffect] = []
        for (_, pending) in pendingWrites.sorted(by: { $0.key < $1.key }) {
            // Only answers: the groups go with this shard, so nothing here may change state or write.
            if case .assignment = pending { continue }
            effects += failed(pending, .notCoordinator)
        }
        pendingWrites.removeAll()
        for group in groups.values {
            for member in group.orderedMembers {
                if let join = member.awaitingJoin {
                    effects.append(.reply(join.token, .join(Self.joinError(.notCoordinator, memberId: member.memberId))))
                }
                if let sync = member.awaitingSync {
                    effects.append(.reply(sync, .sync(Self.syncError(.notCoordinator))))
                }
            }
        }
        groups.removeAll()
        return effects
    }

    /// A write finished: `error` is `.none` once the records are committed (under the high watermark).
    public mutating func writeCompleted(_ writeId: UInt64, error: ErrorCode, nowMs: Int64) -> [GroupEffect] {
        guard let pending = pendingWrites.removeValue(forKey: writeId) else { return [] }
        guard error == .none else { return failed(pending, error, nowMs: nowMs) }
        switch pending {
        case .offsets(let groupId, let token, let response, let values):
            // The log has the commit now, so memory must too, even if the group went meanwhile.
            var group = groups[groupId] ?? ClassicGroup(groupId: groupId, nowMs: nowMs)
            group.pendingCommits -= 1
            for (key, value) in values where (group.offsetWrites[key] ?? 0) < writeId {
                group.offsets[key] = value
                group.offsetWrites[key] = writeId
            }
            groups[groupId] = group
            return [.reply(token, .offsetCommit(response))]
        case .txnOffsets(let groupId, let token, let response, let producerId, let values):
            // Written, and pending until the transaction's marker says whether they count.
            var group = groups[groupId] ?? ClassicGroup(groupId: groupId, nowMs: nowMs)
            for (key, value) in values { group.pendingTxnOffsets[producerId, default: [:]][key] = (value, writeId) }
            groups[groupId] = group
            return [.reply(token, .txnOffsetCommit(response))]
        case .assignment(let groupId, let generation, let assignments):
            guard var group = groups[groupId], group.state == .completingRebalance, group.generation == generation else {
                return []
            }
            var effects: [GroupEffect] = []
            for id in group.joinOrder {
                group.members[id]!.assignment = assignments[id] ?? []
                if let token = group.members[id]!.awaitingSync {
                    group.members[id]!.awaitingSync = nil
                    // Clients do not heartbeat while waiting for SyncGroup: the session starts again now.
                    if settings.plantedBug != .noSessionAfterSync { group.members[id]!.sessionDeadlineMs = nowMs + Int64(group.members[id]!.sessionTimeoutMs) }
                    effects.append(.reply(token, .sync(syncResponse(group, assignment: assignments[id] ?? []))))
                }
            }
            group.syncDeadlineMs = nil
            group.transition(to: .stable, nowMs: nowMs)
            groups[groupId] = group
            return effects
        case .staticRejoin(let groupId, let token, let version, let newMemberId, _, let previousLeader):
            guard var group = groups[groupId], let member = group.members[newMemberId] else {
                return [.reply(token, .join(Self.joinError(.unknownMemberId, memberId: newMemberId)))]
            }
            // Its session runs from this answer, as after any JoinGroup answer.
            group.members[newMemberId]!.sessionDeadlineMs = nowMs + Int64(member.sessionTimeoutMs)
            groups[groupId] = group
            return [.reply(token, .join(staticRejoinResponse(group, memberId: newMemberId, version: version,
                                                             previousLeader: previousLeader)))]
        case .deleteGroup(let groupId, let token):
            if groups[groupId]?.state == .dead { groups.removeValue(forKey: groupId) }
            var result = DeleteGroupsResponse.DeletableGroupResult()
            result.groupId = groupId
            return [.reply(token, .deleteGroup(result))]
        case .offsetDelete(let groupId, let token, let response):
            if var group = groups[groupId] {
                for topic in response.topics {
                    for partition in topic.partitions where partition.errorCode == 0 {
                        let key = TopicPartitionKey(topic.name, partition.partitionIndex)
                        group.offsets.removeValue(forKey: key)
                        group.offsetWrites[key] = writeId
                    }
                }
                groups[groupId] = group
            }
            return [.reply(token, .offsetDelete(response))]
        case .background:
            return []
        }
    }

    private mutating func failed(_ pending: PendingWrite, _ appendError: ErrorCode, nowMs: Int64 = 0) -> [GroupEffect] {
        switch pending {
        case .offsets(let groupId, let token, var response, _):
            groups[groupId]?.pendingCommits -= 1
            let code = Self.coordinatorError(for: appendError, offsets: true).rawValue
            for t in response.topics.indices {
                for p in response.topics[t].partitions.indices where response.topics[t].partitions[p].errorCode == 0 {
                    response.topics[t].partitions[p].errorCode = code
                }
            }
            return [.reply(token, .offsetCommit(response))]
        case .txnOffsets(_, let token, var response, _, _):
            let code = Self.coordinatorError(for: appendError, offsets: true).rawValue
            for t in response.topics.indices {
                for p in response.topics[t].partitions.indices where response.topics[t].partitions[p].errorCode == 0 {
                    response.topics[t].partitions[p].errorCode = code
                }
            }
            return [.reply(token, .txnOffsetCommit(response))]
        case .assignment(let groupId, let generation, _):
            guard var group = groups[groupId], group.state == .completingRebalance, group.generation == generation else {
                return []
            }
            var effects = resetAndPropagateAssignment(&group, error: Self.coordinatorError(for: appendError, offsets: false),
                                                      nowMs: nowMs)
            effects += prepareRebalanceOrCompleteJoin(&group, nowMs: nowMs)
            groups[groupId] = group
            return effects
        case .staticRejoin(let groupId, let token, _, let newMemberId, let previous, _):
            if var group = groups[groupId], group.members[newMemberId] != nil {
                // The new id was never stored: the old incarnation stays the member, as it was.
                group.replaceMemberId(newMemberId, with: previous.memberId)
                let assignment = group.members[previous.memberId]!.assignment
                group.members[previous.memberId] = previous
                group.members[previous.memberId]!.assignment = assignment
                groups[groupId] = group
            }
            let code = Self.coordinatorError(for: appendError, offsets: false)
            return [.reply(token, .join(Self.joinError(code, memberId: "")))]
        case .deleteGroup(let groupId, let token):
            if groups[groupId]?.state == .dead { groups[groupId]!.transition(to: .empty, nowMs: nowMs) }
            var result = DeleteGroupsResponse.DeletableGroupResult()
            result.groupId = groupId
            result.errorCode = Self.coordinatorError(for: appendError, offsets: false).rawValue
            return [.reply(token, .deleteGroup(result))]
        case .offsetDelete(_, let token, var response):
            response.errorCode = Self.coordinatorError(for: appendError, offsets: false).rawValue
            response.topics = []
            return [.reply(token, .offsetDelete(response))]
        case .background:
            return []
        }
    }

    /// Rebuilds the groups of this partition from its records, in log order (what a new leader does before
    /// answering). Groups with members come back Stable with fresh session deadlines, so members that were
    /// heartbeating to the old coordinator carry on without a rebalance.
    public static func loaded(from records: [OffsetsTopicRecord], settings: GroupSettings, nowMs: Int64,
                              makeId: @escaping @Sendable (String) -> String) -> GroupShard {
        loaded(from: records.map(OffsetsTopicEntry.record), settings: settings, nowMs: nowMs, makeId: makeId)
    }

    /// The same from the log's entries with their transactions: offsets a transaction wrote stay pending until
    /// its marker, and a transaction still open at the end stays pending after the load.
    public static func loaded(from entries: [OffsetsTopicEntry], settings: GroupSettings, nowMs: Int64,
                              makeId: @escaping @Sendable (String) -> String) -> GroupShard {
        var shard = GroupShard(settings: settings, makeId: makeId)
        for entry in entries {
            let order = shard.nextWriteId
            shard.nextWriteId += 1
            switch entry {
            case .record(.offsetCommit(let key, let value)):
                var group = shard.groups[key.group] ?? ClassicGroup(groupId: key.group, nowMs: nowMs)
                group.offsets[TopicPartitionKey(key.topic, key.partition)] = value
                group.offsetWrites[TopicPartitionKey(key.topic, key.partition)] = order
                shard.groups[key.group] = group
            case .record(.groupMetadata(let groupId, nil)):
                shard.groups[groupId]?.forgetManagement(nowMs: nowMs)
                if shard.groups[groupId]?.offsets.isEmpty == true { shard.groups.removeValue(forKey: groupId) }
            case .record(.groupMetadata(let groupId, let value?)):
                var group = shard.groups[groupId] ?? ClassicGroup(groupId: groupId, nowMs: nowMs)
                group.restore(value, nowMs: nowMs)
                shard.groups[groupId] = group
            case .transactional(let producerId, .offsetCommit(let key, let value?)):
                var group = shard.groups[key.group] ?? ClassicGroup(groupId: key.group, nowMs: nowMs)
                group.pendingTxnOffsets[producerId, default: [:]][TopicPartitionKey(key.topic, key.partition)] = (value, order)
                shard.groups[key.group] = group
            case .transactional:
                continue   // a transaction writes offsets only
            case .marker(let producerId, let commit):
                shard.completeTransaction(producerId: producerId, commit: commit)
            }
        }
        for id in shard.groups.keys where shard.groups[id]!.offsets.isEmpty && shard.groups[id]!.protocolType == nil
            && shard.groups[id]!.pendingTxnOffsets.isEmpty {
            shard.groups.removeValue(forKey: id)
        }
        return shard
    }
}

/// One entry of a `__consumer_offsets` partition as a loading coordinator reads it.
public enum OffsetsTopicEntry: Sendable {
    case record(OffsetsTopicRecord)
    /// A record written in producer `producerId`'s transaction (TxnOffsetCommit).
    case transactional(producerId: Int64, OffsetsTopicRecord)
    /// The marker ending that producer's transaction.
    case marker(producerId: Int64, commit: Bool)
}

extension ClassicGroup {
    /// A group tombstone replayed: what stays (offsets committed after it) belongs to no managed group.
    mutating func forgetManagement(nowMs: Int64) {
        resetMembership()
        protocolType = nil
        generation = 0
        stateTimestampMs = nowMs
    }

    mutating func resetMembership() {
        members = [:]
        joinOrder = []
        staticMembers = [:]
        pendingMembers = [:]
        pendingSync = []
        leaderId = nil
        protocolName = nil
        state = .empty
    }

    mutating func restore(_ value: GroupMetadataValue, nowMs: Int64) {
        resetMembership()
        generation = value.generation
        protocolType = value.protocolType.isEmpty ? nil : value.protocolType
        protocolName = value.protocolName
        stateTimestampMs = value.currentStateTimestamp >= 0 ? value.currentStateTimestamp : nowMs
        for stored in value.members {
            var member = GroupMember(memberId: stored.memberId, instanceId: stored.groupInstanceId,
                                     clientId: stored.clientId, clientHost: stored.clientHost,
                                     rebalanceTimeoutMs: stored.rebalanceTimeoutMs, sessionTimeoutMs: stored.sessionTimeoutMs,
                                     protocolType: value.protocolType,
                                     protocols: [(name: value.protocolName ?? "", metadata: stored.subscription)],
                                     sessionDeadlineMs: nowMs + Int64(stored.sessionTimeoutMs))
            member.assignment = stored.assignment
            add(member)
        }
        leaderId = value.leader
        state = members.isEmpty ? .empty : .stable
        previousState = state
    }

    /// A static member's new incarnation takes over the old one's place, assignment and leadership.
    mutating func replaceMemberId(_ oldId: String, with newId: String) {
        guard var member = members.removeValue(forKey: oldId) else { return }
        member.memberId = newId
        members[newId] = member
        joinOrder = joinOrder.map { $0 == oldId ? newId : $0 }
        if let instance = member.instanceId { staticMembers[instance] = newId }
        if leaderId == oldId { leaderId = newId }
        if pendingSync.remove(oldId) != nil { pendingSync.insert(newId) }
    }
}
