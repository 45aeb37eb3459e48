import CrucibleProtocol

// Offsets committed inside producers' transactions (the consume-transform-produce loop's
// `send_offsets_to_transaction`): written at once with the producer's id and epoch, in effect only when the
// transaction commits.
extension GroupShard {
    /// TxnOffsetCommit. Members are checked as for OffsetCommit when the request names one (v3+, KIP-447); a
    /// producer outside group management (generation -1, no member) may commit for any group.
    public mutating func txnCommitOffsets(_ request: TxnOffsetCommitRequest, token: RequestToken, nowMs: Int64,
                                          knownTopic: (String) -> Bool) -> [GroupEffect] {
        var response = TxnOffsetCommitResponse()
        response.topics = request.topics.map { topic in
            var result = TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic()
            result.name = topic.name
            result.partitions = topic.partitions.map { partition in
                var entry = TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition()
                entry.partitionIndex = partition.partitionIndex
                return entry
            }
            return result
        }
        func refuseAll(_ code: ErrorCode) -> [GroupEffect] {
            for t in response.topics.indices {
                for p in response.topics[t].partitions.indices { response.topics[t].partitions[p].errorCode = code.rawValue }
            }
            return [.reply(token, .txnOffsetCommit(response))]
        }
        guard !request.groupId.isEmpty else { return refuseAll(.invalidGroupId) }
        if let group = groups[request.groupId] {
            if group.state == .dead { return refuseAll(.coordinatorNotAvailable) }
            if !request.memberId.isEmpty, let error = group.validate(memberId: request.memberId, instanceId: request.groupInstanceId) {
                return refuseAll(error)
            }
            if request.generationId >= 0 && request.generationId != group.generation { return refuseAll(.illegalGeneration) }
        } else if !request.memberId.isEmpty || request.generationId >= 0 {
            return refuseAll(.unknownMemberId)
        }
        let entries = request.topics.flatMap { topic in
            topic.partitions.map { partition in
                CommitEntry(key: TopicPartitionKey(topic.name, partition.partitionIndex), offset: partition.committedOffset,
                            leaderEpoch: partition.committedLeaderEpoch, metadata: partition.committedMetadata ?? "", commitTimestamp: nowMs)
            }
        }
        let (values, records, codes) = storable(entries, group: request.groupId, knownTopic: knownTopic)
        var next = codes.makeIterator()
        for t in response.topics.indices {
            for p in response.topics[t].partitions.indices { response.topics[t].partitions[p].errorCode = next.next()!.rawValue }
        }
        guard !records.isEmpty else { return [.reply(token, .txnOffsetCommit(response))] }
        return [append(records, .txnOffsets(group: request.groupId, token: token, response: response, producerId: request.producerId,
                                            values: values),
                       transaction: (request.producerId, request.producerEpoch))]
    }

    /// The producer's marker landed on this partition: its pending offsets count (COMMIT), unless a plain commit
    /// written after them has moved the partition on, or are dropped (ABORT).
    public mutating func completeTransaction(producerId: Int64, commit: Bool) {
        for groupId in groups.keys.sorted() {
            guard var group = groups[groupId], let pending = group.pendingTxnOffsets.removeValue(forKey: producerId) else { continue }
            if commit {
                for (key, entry) in pending where (group.offsetWrites[key] ?? 0) < entry.writeId {
                    group.offsets[key] = entry.value
                    group.offsetWrites[key] = entry.writeId
                }
            }
            groups[groupId] = group
        }
    }

    /// Partitions of `groupId` with offsets waiting on an open transaction: OffsetFetch with `require_stable`
    /// answers UNSTABLE_OFFSET_COMMIT for them (KIP-447), and read_committed consumers retry.
    public func unstableOffsets(_ groupId: String) -> Set<TopicPartitionKey> {
        Set(groups[groupId]?.pendingTxnOffsets.values.flatMap(\.keys) ?? [])
    }
}
