import CrucibleProtocol
import CrucibleSecurity

/// Kafka's ACL checks on the client listener, in front of the handlers (and of forwarding to the controller, so
/// a forwarded request is checked against the client's principal, not the forwarding node's). A request that
/// names anything its principal may not touch is refused whole, each entry with the API's authorization error
/// (Kafka refuses entry by entry and serves the rest; Produce, Fetch and Metadata here do too).
extension BrokerApis {
    func guardAuthorization(in table: inout ApiTable) {
        guard config.security.authorizerEnabled else { return }
        let group = ErrorCode.groupAuthorizationFailed, topic = ErrorCode.topicAuthorizationFailed
        let transactional = ErrorCode.transactionalIdAuthorizationFailed, cluster = ErrorCode.clusterAuthorizationFailed

        table.guarding(FindCoordinatorRequest.self) { [self] request, context in
            let keys = context.version >= 4 ? request.coordinatorKeys : [request.key]
            let type: AclResourceType = request.keyType == 1 ? .transactionalId : .group
            let denied = keys.filter { !allowed(context, .describe, type, $0) }
            guard !denied.isEmpty else { return nil }
            let code = type == .group ? group : transactional
            var response = FindCoordinatorResponse()
            response.errorCode = code.rawValue
            response.errorMessage = nil
            response.nodeId = -1
            response.port = -1
            response.coordinators = keys.map { key in
                var entry = FindCoordinatorResponse.Coordinator()
                entry.key = key
                entry.nodeId = -1
                entry.port = -1
                entry.errorCode = (denied.contains(key) ? code : .none).rawValue
                entry.errorMessage = nil
                return entry
            }
            return response
        }
        func groupRead<R: KafkaRequest>(_ type: R.Type, _ id: @escaping (R) -> String, _ refuse: @escaping (ErrorCode) -> R.Response) {
            table.guarding(type) { [self] request, context in allowed(context, .read, .group, id(request)) ? nil : refuse(group) }
        }
        groupRead(JoinGroupRequest.self, \.groupId) { var r = JoinGroupResponse(); r.errorCode = $0.rawValue; return r }
        groupRead(SyncGroupRequest.self, \.groupId) { var r = SyncGroupResponse(); r.errorCode = $0.rawValue; return r }
        groupRead(HeartbeatRequest.self, \.groupId) { var r = HeartbeatResponse(); r.errorCode = $0.rawValue; return r }
        groupRead(LeaveGroupRequest.self, \.groupId) { var r = LeaveGroupResponse(); r.errorCode = $0.rawValue; return r }
        table.guarding(OffsetCommitRequest.self) { [self] request, context in
            let code: ErrorCode? = !allowed(context, .read, .group, request.groupId) ? group
                : request.topics.contains { !allowed(context, .read, .topic, $0.name) } ? topic : nil
            guard let code else { return nil }
            var response = OffsetCommitResponse()
            response.topics = request.topics.map { entry in
                var result = OffsetCommitResponse.OffsetCommitResponseTopic()
                result.name = entry.name
                result.partitions = entry.partitions.map { partition in
                    var answer = OffsetCommitResponse.OffsetCommitResponsePartition()
                    answer.partitionIndex = partition.partitionIndex
                    answer.errorCode = code.rawValue
                    return answer
                }
                return result
            }
            return response
        }
        table.guarding(OffsetFetchRequest.self) { [self] request, context in
            let groups = context.version >= 8 ? request.groups.map(\.groupId) : [request.groupId]
            guard groups.contains(where: { !allowed(context, .describe, .group, $0) }) else { return nil }
            var response = OffsetFetchResponse()
            response.errorCode = group.rawValue
            response.topics = []
            response.groups = groups.map { id in
                var entry = OffsetFetchResponse.OffsetFetchResponseGroup()
                entry.groupId = id
                entry.errorCode = (allowed(context, .describe, .group, id) ? ErrorCode.none : group).rawValue
                return entry
            }
            return response
        }
        table.guarding(DescribeGroupsRequest.self) { [self] request, context in
            guard request.groups.contains(where: { !allowed(context, .describe, .group, $0) }) else { return nil }
            var response = DescribeGroupsResponse()
            response.groups = request.groups.map { id in
                var entry = DescribeGroupsResponse.DescribedGroup()
                entry.groupId = id
                entry.errorCode = group.rawValue
                return entry
            }
            return response
        }
        table.guarding(DeleteGroupsRequest.self) { [self] request, context in
            guard request.groupsNames.contains(where: { !allowed(context, .delete, .group, $0) }) else { return nil }
            var response = DeleteGroupsResponse()
            response.results = request.groupsNames.map { id in
                var entry = DeleteGroupsResponse.DeletableGroupResult()
                entry.groupId = id
                entry.errorCode = (allowed(context, .delete, .group, id) ? ErrorCode.none : group).rawValue
                return entry
            }
            return response
        }
        guardTransactions(in: &table, transactional: transactional, group: group, topic: topic)
        guardAdmin(in: &table, topic: topic, cluster: cluster)
    }

    private func guardTransactions(in table: inout ApiTable, transactional: ErrorCode, group: ErrorCode, topic: ErrorCode) {
        table.guarding(InitProducerIdRequest.self) { [self] request, context in
            guard let id = request.transactionalId, !allowed(context, .write, .transactionalId, id) else { return nil }
            return ControllerRefusal.initProducerId(request, transactional)
        }
        table.guarding(AddPartitionsToTxnRequest.self) { [self] request, context in
            guard context.version <= 3 else { return nil }  // v4+ is the brokers' own verification (CLUSTER_ACTION)
            let code: ErrorCode? = !allowed(context, .write, .transactionalId, request.v3AndBelowTransactionalId) ? transactional
                : request.v3AndBelowTopics.contains { !allowed(context, .write, .topic, $0.name) } ? topic : nil
            guard let code else { return nil }
            var response = AddPartitionsToTxnResponse()
            response.resultsByTopicV3AndBelow = request.v3AndBelowTopics.map { entry in
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
            return response
        }
        table.guarding(AddOffsetsToTxnRequest.self) { [self] request, context in
            let code: ErrorCode? = !allowed(context, .write, .transactionalId, request.transactionalId) ? transactional
                : !allowed(context, .read, .group, request.groupId) ? group : nil
            guard let code else { return nil }
            var response = AddOffsetsToTxnResponse()
            response.errorCode = code.rawValue
            return response
        }
        table.guarding(EndTxnRequest.self) { [self] request, context in
            guard !allowed(context, .write, .transactionalId, request.transactionalId) else { return nil }
            var response = EndTxnResponse()
            response.errorCode = transactional.rawValue
            return response
        }
        table.guarding(TxnOffsetCommitRequest.self) { [self] request, context in
            let code: ErrorCode? = !allowed(context, .write, .transactionalId, request.transactionalId) ? transactional
                : !allowed(context, .read, .group, request.groupId) ? group
                : request.topics.contains { !allowed(context, .read, .topic, $0.name) } ? topic : nil
            guard let code else { return nil }
            var response = TxnOffsetCommitResponse()
            response.topics = request.topics.map { entry in
                var result = TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic()
                result.name = entry.name
                result.partitions = entry.partitions.map { partition in
                    var answer = TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition()
                    answer.partitionIndex = partition.partitionIndex
                    answer.errorCode = code.rawValue
                    return answer
                }
                return result
            }
            return response
        }
        table.guarding(DescribeTransactionsRequest.self) { [self] request, context in
            guard request.transactionalIds.contains(where: { !allowed(context, .describe, .transactionalId, $0) }) else { return nil }
            var response = DescribeTransactionsResponse()
            response.transactionStates = request.transactionalIds.map { id in
                var state = DescribeTransactionsResponse.TransactionState()
                state.transactionalId = id
                state.errorCode = transactional.rawValue
                return state
            }
            return response
        }
    }

    private func guardAdmin(in table: inout ApiTable, topic: ErrorCode, cluster: ErrorCode) {
        table.guarding(CreateTopicsRequest.self) { [self] request, context in
            guard !allowedOnCluster(context, .create),
                  request.topics.contains(where: { !allowed(context, .create, .topic, $0.name) }) else { return nil }
            return ControllerRefusal.createTopics(request, topic)
        }
        table.guarding(DeleteTopicsRequest.self) { [self] request, context in
            let names = request.topicNames + request.topics.compactMap(\.name)
            guard names.contains(where: { !allowed(context, .delete, .topic, $0) }) else { return nil }
            return ControllerRefusal.deleteTopics(request, topic)
        }
        table.guarding(DescribeConfigsRequest.self) { [self] request, context in
            let denied = request.resources.first { resource in
                resource.resourceType == 2 ? !allowed(context, .describeConfigs, .topic, resource.resourceName)
                    : !allowedOnCluster(context, .describeConfigs)
            }
            guard let denied else { return nil }
            return ControllerRefusal.describeConfigs(request, denied.resourceType == 2 ? topic : cluster)
        }
        table.guarding(IncrementalAlterConfigsRequest.self) { [self] request, context in
            let denied = request.resources.first { resource in
                resource.resourceType == 2 ? !allowed(context, .alterConfigs, .topic, resource.resourceName)
                    : !allowedOnCluster(context, .alterConfigs)
            }
            guard let denied else { return nil }
            return ControllerRefusal.incrementalAlterConfigs(request, denied.resourceType == 2 ? topic : cluster)
        }
        table.guarding(AlterConfigsRequest.self) { [self] request, context in
            let denied = request.resources.first { resource in
                resource.resourceType == 2 ? !allowed(context, .alterConfigs, .topic, resource.resourceName)
                    : !allowedOnCluster(context, .alterConfigs)
            }
            guard let denied else { return nil }
            return ControllerRefusal.alterConfigs(request, denied.resourceType == 2 ? topic : cluster)
        }
        table.guarding(AlterUserScramCredentialsRequest.self) { [self] request, context in
            allowedOnCluster(context, .alter) ? nil : ControllerRefusal.alterUserScramCredentials(request, cluster)
        }
        table.guarding(DescribeUserScramCredentialsRequest.self) { [self] _, context in
            guard !allowedOnCluster(context, .describe) else { return nil }
            var response = DescribeUserScramCredentialsResponse()
            response.errorCode = cluster.rawValue
            response.errorMessage = nil
            return response
        }
    }
}
