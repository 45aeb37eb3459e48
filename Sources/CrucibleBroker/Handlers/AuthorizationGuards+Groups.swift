import CrucibleProtocol
import CrucibleSecurity

/// Consumer groups and transactions under ACLs: READ on the group to take part in it, DESCRIBE to see it,
/// DELETE to remove it or its offsets; READ on each topic whose offsets are committed; WRITE on the transactional
/// id for everything a transactional producer does.
extension BrokerApis {
    func guardGroups(in table: inout ApiTable) {
        let group = ErrorCode.groupAuthorizationFailed, topic = ErrorCode.topicAuthorizationFailed
        func groupRead<R: KafkaRequest>(_ type: R.Type, _ id: @escaping (R) -> String, _ refuse: @escaping (ErrorCode) -> R.Response) {
            table.filtering(type) { [self] request, context in
                allowed(context, .read, .group, id(request)) ? nil : refusingAll(refuse(group))
            }
        }
        groupRead(JoinGroupRequest.self, \.groupId) { var r = JoinGroupResponse(); r.errorCode = $0.rawValue; return r }
        groupRead(SyncGroupRequest.self, \.groupId) { var r = SyncGroupResponse(); r.errorCode = $0.rawValue; return r }
        groupRead(HeartbeatRequest.self, \.groupId) { var r = HeartbeatResponse(); r.errorCode = $0.rawValue; return r }
        groupRead(LeaveGroupRequest.self, \.groupId) { var r = LeaveGroupResponse(); r.errorCode = $0.rawValue; return r }
        table.filtering(OffsetCommitRequest.self) { [self] request, context in
            guard allowed(context, .read, .group, request.groupId) else { return refusingAll(PartitionRefusal.offsetCommit(request, group)) }
            return refusing(request, \.topics, \.topics, allowed: { allowed(context, .read, .topic, $0.name) }) {
                PartitionRefusal.offsetCommit($0, topic)
            }
        }
        table.filtering(OffsetFetchRequest.self) { [self] request, context in
            if context.version >= 8 {
                return refusing(request, \.groups, \.groups, allowed: { allowed(context, .describe, .group, $0.groupId) }) { denied in
                    var response = OffsetFetchResponse()
                    response.groups = denied.groups.map { id in
                        var entry = OffsetFetchResponse.OffsetFetchResponseGroup()
                        entry.groupId = id.groupId
                        entry.errorCode = group.rawValue
                        return entry
                    }
                    return response
                }.map { chained($0, redactingOffsets(request, context)) } ?? redacting(request, redactingOffsets(request, context))
            }
            guard allowed(context, .describe, .group, request.groupId) else {
                var response = OffsetFetchResponse()
                response.errorCode = group.rawValue
                response.topics = (request.topics ?? []).map { entry in
                    var result = OffsetFetchResponse.OffsetFetchResponseTopic()
                    result.name = entry.name
                    result.partitions = entry.partitionIndexes.map { index in
                        var partition = OffsetFetchResponse.OffsetFetchResponsePartition()
                        partition.partitionIndex = index
                        partition.committedOffset = -1
                        partition.errorCode = group.rawValue
                        return partition
                    }
                    return result
                }
                return refusingAll(response)
            }
            return redacting(request, redactingOffsets(request, context))
        }
        table.filtering(DescribeGroupsRequest.self) { [self] request, context in
            refusing(request, \.groups, \.groups, allowed: { allowed(context, .describe, .group, $0) }) { denied in
                var response = DescribeGroupsResponse()
                response.groups = denied.groups.map { id in
                    var entry = DescribeGroupsResponse.DescribedGroup()
                    entry.groupId = id
                    entry.errorCode = group.rawValue
                    return entry
                }
                return response
            }
        }
        table.filtering(DeleteGroupsRequest.self) { [self] request, context in
            refusing(request, \.groupsNames, \.results, allowed: { allowed(context, .delete, .group, $0) }) { denied in
                var response = DeleteGroupsResponse()
                response.results = denied.groupsNames.map { id in
                    var entry = DeleteGroupsResponse.DeletableGroupResult()
                    entry.groupId = id
                    entry.errorCode = group.rawValue
                    return entry
                }
                return response
            }
        }
        table.filtering(OffsetDeleteRequest.self) { [self] request, context in
            guard allowed(context, .delete, .group, request.groupId) else {
                var response = OffsetDeleteResponse()
                response.errorCode = group.rawValue
                return refusingAll(response)
            }
            return refusing(request, \.topics, \.topics, allowed: { allowed(context, .read, .topic, $0.name) }) {
                PartitionRefusal.offsetDelete($0, topic)
            }
        }
        // Every group to a principal that may describe the cluster; otherwise only the groups it may describe.
        table.filtering(ListGroupsRequest.self) { [self] request, context in
            guard !allowedOnCluster(context, .describe) else { return nil }
            return redacting(request) { [self] in $0.groups.removeAll { !allowed(context, .describe, .group, $0.groupId) } }
        }
    }

    /// Committed offsets of topics the principal may not describe: TOPIC_AUTHORIZATION_FAILED where the request
    /// named them, left out where it asked for every topic (Kafka's answer to both).
    private func redactingOffsets(_ request: OffsetFetchRequest, _ context: RequestContext) -> (inout OffsetFetchResponse) -> Void {
        let everyTopic = Set(request.groups.filter { $0.topics == nil }.map(\.groupId))
        return { [self] response in
            let denied = ErrorCode.topicAuthorizationFailed.rawValue
            let hidden = { [self] (name: String) in !allowed(context, .describe, .topic, name) }
            if request.topics == nil { response.topics.removeAll { hidden($0.name) } }
            for index in response.topics.indices where hidden(response.topics[index].name) {
                for partition in response.topics[index].partitions.indices {
                    response.topics[index].partitions[partition].committedOffset = -1
                    response.topics[index].partitions[partition].metadata = ""
                    response.topics[index].partitions[partition].errorCode = denied
                }
            }
            for group in response.groups.indices {
                if everyTopic.contains(response.groups[group].groupId) { response.groups[group].topics.removeAll { hidden($0.name) } }
                for index in response.groups[group].topics.indices where hidden(response.groups[group].topics[index].name) {
                    for partition in response.groups[group].topics[index].partitions.indices {
                        response.groups[group].topics[index].partitions[partition].committedOffset = -1
                        response.groups[group].topics[index].partitions[partition].metadata = ""
                        response.groups[group].topics[index].partitions[partition].errorCode = denied
                    }
                }
            }
        }
    }

    /// `filter`, then `change` made to whatever it answers.
    private func chained<R: KafkaRequest>(_ filter: EntryFilter<R>, _ change: @escaping (inout R.Response) -> Void) -> EntryFilter<R> {
        EntryFilter(served: filter.served) { response in
            var merged = filter.merge(response)
            change(&merged)
            return merged
        }
    }

    func guardTransactions(in table: inout ApiTable) {
        let transactional = ErrorCode.transactionalIdAuthorizationFailed, group = ErrorCode.groupAuthorizationFailed
        let topic = ErrorCode.topicAuthorizationFailed
        table.filtering(InitProducerIdRequest.self) { [self] request, context in
            var response = InitProducerIdResponse()
            response.producerId = -1
            response.producerEpoch = -1
            if let id = request.transactionalId {
                guard !allowed(context, .write, .transactionalId, id) else { return nil }
                response.errorCode = transactional.rawValue
                return refusingAll(response)
            }
            // An idempotent producer: IDEMPOTENT_WRITE on the cluster, or WRITE on any topic (KIP-679).
            guard !allowedOnCluster(context, .idempotentWrite), !allowedOnAnyTopic(context, .write) else { return nil }
            response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            return refusingAll(response)
        }
        table.filtering(AddPartitionsToTxnRequest.self) { [self] request, context in
            // v4+ comes from brokers verifying a transaction (KIP-890): CLUSTER_ACTION, as for replication.
            if context.version >= 4 {
                guard !allowedOnCluster(context, .clusterAction) else { return nil }
                var response = AddPartitionsToTxnResponse()
                response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
                return refusingAll(response)
            }
            let idAllowed = allowed(context, .write, .transactionalId, request.v3AndBelowTransactionalId)
            let deniedTopics = Set(request.v3AndBelowTopics.map(\.name).filter { !allowed(context, .write, .topic, $0) })
            guard !idAllowed || !deniedTopics.isEmpty else { return nil }
            // Kafka adds nothing when anything is refused: the allowed topics are OPERATION_NOT_ATTEMPTED.
            var response = AddPartitionsToTxnResponse()
            response.resultsByTopicV3AndBelow = request.v3AndBelowTopics.map { entry in
                let code = !idAllowed ? transactional : deniedTopics.contains(entry.name) ? topic : .operationNotAttempted
                var result = AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult()
                result.name = entry.name
                result.resultsByPartition = entry.partitions.map { partition in
                    var answer = AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult()
                    answer.partitionIndex = partition
                    answer.partitionErrorCode = code.rawValue
                    return answer
                }
                return result
            }
            return refusingAll(response)
        }
        table.filtering(AddOffsetsToTxnRequest.self) { [self] request, context in
            let code: ErrorCode? = !allowed(context, .write, .transactionalId, request.transactionalId) ? transactional
                : !allowed(context, .read, .group, request.groupId) ? group : nil
            guard let code else { return nil }
            var response = AddOffsetsToTxnResponse()
            response.errorCode = code.rawValue
            return refusingAll(response)
        }
        table.filtering(EndTxnRequest.self) { [self] request, context in
            guard !allowed(context, .write, .transactionalId, request.transactionalId) else { return nil }
            var response = EndTxnResponse()
            response.errorCode = transactional.rawValue
            return refusingAll(response)
        }
        table.filtering(TxnOffsetCommitRequest.self) { [self] request, context in
            if !allowed(context, .write, .transactionalId, request.transactionalId) {
                return refusingAll(PartitionRefusal.txnOffsetCommit(request, transactional))
            }
            if !allowed(context, .read, .group, request.groupId) { return refusingAll(PartitionRefusal.txnOffsetCommit(request, group)) }
            return refusing(request, \.topics, \.topics, allowed: { allowed(context, .read, .topic, $0.name) }) {
                PartitionRefusal.txnOffsetCommit($0, topic)
            }
        }
        table.filtering(DescribeTransactionsRequest.self) { [self] request, context in
            refusing(request, \.transactionalIds, \.transactionStates,
                     allowed: { allowed(context, .describe, .transactionalId, $0) }) { denied in
                var response = DescribeTransactionsResponse()
                response.transactionStates = denied.transactionalIds.map { id in
                    var state = DescribeTransactionsResponse.TransactionState()
                    state.transactionalId = id
                    state.errorCode = transactional.rawValue
                    return state
                }
                return response
            }
        }
        table.filtering(ListTransactionsRequest.self) { [self] request, context in
            redacting(request) { [self] in $0.transactionStates.removeAll { !allowed(context, .describe, .transactionalId, $0.transactionalId) } }
        }
        // Markers are written by the transaction coordinators, other brokers: CLUSTER_ACTION.
        table.filtering(WriteTxnMarkersRequest.self) { [self] request, context in
            guard !allowedOnCluster(context, .clusterAction) else { return nil }
            var response = WriteTxnMarkersResponse()
            response.markers = request.markers.map { marker in
                var result = WriteTxnMarkersResponse.WritableTxnMarkerResult()
                result.producerId = marker.producerId
                result.topics = marker.topics.map { entry in
                    var topicResult = WriteTxnMarkersResponse.WritableTxnMarkerTopicResult()
                    topicResult.name = entry.name
                    topicResult.partitions = entry.partitionIndexes.map { index in
                        var partition = WriteTxnMarkersResponse.WritableTxnMarkerPartitionResult()
                        partition.partitionIndex = index
                        partition.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
                        return partition
                    }
                    return topicResult
                }
                return result
            }
            return refusingAll(response)
        }
    }
}
