import CrucibleProtocol
import NIOCore

// Committed offsets: commits (answered once written), fetches, deletion and expiry.
extension GroupShard {
    /// OffsetCommit. A commit with generation -1 and no member id comes from outside group management and
    /// is accepted while the group is empty or unknown; members must be of the current generation.
    /// `knownTopic` says whether a topic exists (commits to unknown topics fail per partition).
    public mutating func commitOffsets(_ request: OffsetCommitRequest, version: Int16, token: RequestToken, nowMs: Int64,
                                       knownTopic: (String) -> Bool) -> [GroupEffect] {
        var response = OffsetCommitResponse()
        response.topics = request.topics.map { topic in
            var result = OffsetCommitResponse.OffsetCommitResponseTopic()
            result.name = topic.name
            result.partitions = topic.partitions.map { partition in
                var entry = OffsetCommitResponse.OffsetCommitResponsePartition()
                entry.partitionIndex = partition.partitionIndex
                return entry
            }
            return result
        }
        func refuseAll(_ code: ErrorCode) -> [GroupEffect] {
            for t in response.topics.indices {
                for p in response.topics[t].partitions.indices { response.topics[t].partitions[p].errorCode = code.rawValue }
            }
            return [.reply(token, .offsetCommit(response))]
        }
        guard !request.groupId.isEmpty else { return refuseAll(.invalidGroupId) }
        var group: ClassicGroup
        if let existing = groups[request.groupId] {
            group = existing
        } else {
            guard request.generationIdOrMemberEpoch < 0 else {
                return refuseAll(version >= 9 ? .groupIdNotFound : .illegalGeneration)
            }
            group = ClassicGroup(groupId: request.groupId, nowMs: nowMs)
        }
        if let error = commitError(group, request) { return refuseAll(error) }
        if group.members[request.memberId] != nil {
            group.members[request.memberId]!.sessionDeadlineMs = nowMs + Int64(group.members[request.memberId]!.sessionTimeoutMs)
        }
        groups[request.groupId] = group
        // v2-v4 may ask for a retention of their own; later versions always use offsets.retention.minutes.
        let expire = (2...4).contains(version) && request.retentionTimeMs >= 0 ? nowMs + request.retentionTimeMs : -1
        let entries = request.topics.flatMap { topic in
            topic.partitions.map { partition in
                CommitEntry(key: TopicPartitionKey(topic.name, partition.partitionIndex), offset: partition.committedOffset,
                            leaderEpoch: partition.committedLeaderEpoch, metadata: partition.committedMetadata ?? "",
                            commitTimestamp: version == 1 && partition.commitTimestamp >= 0 ? partition.commitTimestamp : nowMs,
                            expireTimestamp: expire)
            }
        }
        let (values, records, codes) = storable(entries, group: request.groupId, knownTopic: knownTopic)
        var next = codes.makeIterator()
        for t in response.topics.indices {
            for p in response.topics[t].partitions.indices { response.topics[t].partitions[p].errorCode = next.next()!.rawValue }
        }
        guard !records.isEmpty else { return [.reply(token, .offsetCommit(response))] }
        groups[request.groupId]!.pendingCommits += 1
        return [append(records, .offsets(group: request.groupId, token: token, response: response, values: values))]
    }

    /// One partition's offset in a commit.
    struct CommitEntry {
        var key: TopicPartitionKey
        var offset: Int64
        var leaderEpoch: Int32
        var metadata: String
        var commitTimestamp: Int64
        var expireTimestamp: Int64 = -1
    }

    /// What of a commit can be stored (values and the records that store them) and each entry's code, in order:
    /// UNKNOWN_TOPIC_OR_PARTITION, OFFSET_METADATA_TOO_LARGE, or none.
    func storable(_ entries: [CommitEntry], group: String, knownTopic: (String) -> Bool)
        -> (values: [TopicPartitionKey: OffsetCommitValue], records: [OffsetsTopicRecord], codes: [ErrorCode]) {
        var values: [TopicPartitionKey: OffsetCommitValue] = [:]
        var records: [OffsetsTopicRecord] = []
        let codes = entries.map { entry -> ErrorCode in
            if !knownTopic(entry.key.topic) { return .unknownTopicOrPartition }
            if entry.metadata.utf8.count > settings.offsetMetadataMaxBytes { return .offsetMetadataTooLarge }
            let value = OffsetCommitValue(offset: entry.offset, leaderEpoch: entry.leaderEpoch, metadata: entry.metadata,
                                          commitTimestamp: entry.commitTimestamp, expireTimestamp: entry.expireTimestamp)
            values[entry.key] = value
            records.append(.offsetCommit(OffsetCommitKey(group: group, topic: entry.key.topic, partition: entry.key.partition), value))
            return .none
        }
        return (values, records, codes)
    }

    /// Kafka's order (ClassicGroup.validateOffsetCommit): member, then generation, then a rebalance in its sync
    /// phase, so a removed member learns it is lost rather than asked to retry.
    private func commitError(_ group: ClassicGroup, _ request: OffsetCommitRequest) -> ErrorCode? {
        if settings.plantedBug == .acceptStaleCommits { return nil }
        if group.state == .dead { return .coordinatorNotAvailable }
        if request.generationIdOrMemberEpoch < 0 && group.state == .empty { return nil }
        if let error = group.validate(memberId: request.memberId, instanceId: request.groupInstanceId) { return error }
        if request.generationIdOrMemberEpoch != group.generation { return .illegalGeneration }
        if group.state == .completingRebalance { return .rebalanceInProgress }
        return nil
    }

    /// Committed offsets of `groupId` for `partitions` (nil: every partition with one).
    public func committedOffsets(_ groupId: String, _ partitions: [TopicPartitionKey]?) -> [TopicPartitionKey: OffsetCommitValue] {
        let offsets = groups[groupId]?.offsets ?? [:]
        guard let partitions else { return offsets }
        return offsets.filter { partitions.contains($0.key) }
    }

    public func describe(_ groupId: String) -> DescribeGroupsResponse.DescribedGroup {
        var described = DescribeGroupsResponse.DescribedGroup()
        described.groupId = groupId
        guard let group = groups[groupId] else {
            described.groupState = GroupState.dead.rawValue
            return described
        }
        described.groupState = group.state.rawValue
        described.protocolType = group.protocolType ?? ""
        let stable = group.state == .stable
        described.protocolData = stable ? group.protocolName ?? "" : ""
        described.members = group.orderedMembers.map { member in
            var entry = DescribeGroupsResponse.DescribedGroupMember()
            entry.memberId = member.memberId
            entry.groupInstanceId = member.instanceId
            entry.clientId = member.clientId
            entry.clientHost = member.clientHost
            if stable {
                entry.memberMetadata = ByteBuffer(bytes: member.metadata(for: group.protocolName))
                entry.memberAssignment = ByteBuffer(bytes: member.assignment)
            }
            return entry
        }
        return described
    }

    public func listGroups(states: Set<String>) -> [ListGroupsResponse.ListedGroup] {
        groups.values.sorted { $0.groupId < $1.groupId }.compactMap { group in
            guard states.isEmpty || states.contains(group.state.rawValue.lowercased()) else { return nil }
            var listed = ListGroupsResponse.ListedGroup()
            listed.groupId = group.groupId
            listed.protocolType = group.protocolType ?? ""
            listed.groupState = group.state.rawValue
            listed.groupType = "classic"
            return listed
        }
    }

    /// DeleteGroups for one group: only an empty group goes, its offsets and metadata tombstoned.
    public mutating func deleteGroup(_ groupId: String, token: RequestToken) -> [GroupEffect] {
        var result = DeleteGroupsResponse.DeletableGroupResult()
        result.groupId = groupId
        guard var group = groups[groupId], group.state != .dead else {
            result.errorCode = ErrorCode.groupIdNotFound.rawValue
            return [.reply(token, .deleteGroup(result))]
        }
        guard group.state == .empty else {
            result.errorCode = ErrorCode.nonEmptyGroup.rawValue
            return [.reply(token, .deleteGroup(result))]
        }
        let records = tombstones(group, group.offsets.keys.sorted()) + [.groupMetadata(group: groupId, nil)]
        // Dead until the tombstones are written (joins meanwhile get COORDINATOR_NOT_AVAILABLE); back to Empty
        // if they cannot be.
        group.transition(to: .dead, nowMs: group.stateTimestampMs)
        groups[groupId] = group
        return [append(records, .deleteGroup(group: groupId, token: token))]
    }

    /// OffsetDelete: partitions of topics the group's members still subscribe to are refused.
    public mutating func deleteOffsets(_ request: OffsetDeleteRequest, token: RequestToken) -> [GroupEffect] {
        var response = OffsetDeleteResponse()
        guard let group = groups[request.groupId], group.state != .dead else {
            response.errorCode = ErrorCode.groupIdNotFound.rawValue
            return [.reply(token, .offsetDelete(response))]
        }
        if group.state != .empty && group.protocolType != "consumer" {
            response.errorCode = ErrorCode.nonEmptyGroup.rawValue
            return [.reply(token, .offsetDelete(response))]
        }
        // Subscriptions that cannot be read (mid-rebalance, foreign metadata) count as covering every topic.
        let subscribed: Set<String>? = group.state == .empty ? [] : group.subscribedTopics
        var deleting: [TopicPartitionKey] = []
        response.topics = request.topics.map { topic in
            var result = OffsetDeleteResponse.OffsetDeleteResponseTopic()
            result.name = topic.name
            result.partitions = topic.partitions.map { partition in
                var entry = OffsetDeleteResponse.OffsetDeleteResponsePartition()
                entry.partitionIndex = partition.partitionIndex
                if subscribed?.contains(topic.name) ?? true {
                    entry.errorCode = ErrorCode.groupSubscribedToTopic.rawValue
                } else if group.offsets[TopicPartitionKey(topic.name, partition.partitionIndex)] != nil {
                    deleting.append(TopicPartitionKey(topic.name, partition.partitionIndex))
                }
                return entry
            }
            return result
        }
        guard !deleting.isEmpty else { return [.reply(token, .offsetDelete(response))] }
        return [append(tombstones(group, deleting), .offsetDelete(group: request.groupId, token: token, response: response))]
    }

    private func tombstones(_ group: ClassicGroup, _ keys: [TopicPartitionKey]) -> [OffsetsTopicRecord] {
        keys.map { .offsetCommit(OffsetCommitKey(group: group.groupId, topic: $0.topic, partition: $0.partition), nil) }
    }

    /// Kafka's offset expiry (KIP-211): an empty consumer group's offsets go `offsets.retention.minutes` after it
    /// became empty; a group outside group management loses each offset that long after its commit; an
    /// explicit expiry (v1 records) wins; a group with members keeps the offsets of topics it subscribes to.
    /// An empty group left with no offsets is deleted.
    public mutating func expireOffsets(nowMs: Int64) -> [GroupEffect] {
        var records: [OffsetsTopicRecord] = []
        for groupId in groups.keys.sorted() {
            var group = groups[groupId]!
            // A group with commits in flight or members being admitted is left for the next round.
            guard group.state == .empty || group.state == .stable, group.pendingCommits == 0, group.pendingTxnOffsets.isEmpty,
                  group.pendingMembers.isEmpty else { continue }
            let subscribed = group.state == .stable ? group.subscribedTopics : []
            guard let subscribed else { continue }
            var expired: [TopicPartitionKey] = []
            for (key, value) in group.offsets {
                let base: Int64
                if value.expireTimestamp >= 0 {
                    if value.expireTimestamp <= nowMs { expired.append(key) }
                    continue
                } else if group.state == .empty && group.protocolType != nil {
                    base = group.stateTimestampMs
                } else if !subscribed.contains(key.topic) {
                    base = value.commitTimestamp
                } else {
                    continue
                }
                if base + settings.offsetsRetentionMs <= nowMs { expired.append(key) }
            }
            expired.sort()
            for key in expired { group.offsets.removeValue(forKey: key) }
            records += tombstones(group, expired)
            if group.state == .empty && group.offsets.isEmpty {
                groups.removeValue(forKey: groupId)
                records.append(.groupMetadata(group: groupId, nil))
            } else {
                groups[groupId] = group
            }
        }
        return records.isEmpty ? [] : [append(records, .background)]
    }
}
