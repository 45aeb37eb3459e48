import CrucibleGroups
import CrucibleProtocol
import NIOCore

// The classic group protocol's APIs: each runs against the group's shard on the coordinator's loop.
extension BrokerApis {
    /// Partitions of `__consumer_offsets`: as created, or as configured before it exists.
    var offsetsPartitions: Int32 {
        controller.currentImage.topic(named: OffsetsTopicLog.topic).map { Int32($0.partitions.count) }
            ?? config.groups.offsetsTopicPartitions
    }

    static func coordinatorError(_ error: Error) -> ErrorCode {
        switch error as? GroupCoordinator.Unavailable {
        case .loading?: return .coordinatorLoadInProgress
        case .notCoordinator?: return .notCoordinator
        case nil: return .coordinatorNotAvailable
        }
    }

    func joinGroup(_ request: JoinGroupRequest, _ context: RequestContext) throws -> Reply<JoinGroupResponse> {
        let version = context.version, clientId = context.header.clientId ?? "", host = context.clientHost
        return .later(groups.submit(request.groupId, partitions: offsetsPartitions, on: context.eventLoop,
                                    extract: { if case .join(let r) = $0 { r } else { nil } }) { shard, token in
            shard.join(request, version: version, clientId: clientId, clientHost: host, token: token, nowMs: Clock.nowMs())
        }.recover { error in
            var response = JoinGroupResponse()
            response.errorCode = Self.coordinatorError(error).rawValue
            response.protocolName = nil
            return response
        }.map { HandlerOutput(response: $0) })
    }

    func syncGroup(_ request: SyncGroupRequest, _ context: RequestContext) throws -> Reply<SyncGroupResponse> {
        .later(groups.submit(request.groupId, partitions: offsetsPartitions, on: context.eventLoop,
                             extract: { if case .sync(let r) = $0 { r } else { nil } }) { shard, token in
            shard.sync(request, token: token, nowMs: Clock.nowMs())
        }.recover { error in
            var response = SyncGroupResponse()
            response.errorCode = Self.coordinatorError(error).rawValue
            return response
        }.map { HandlerOutput(response: $0) })
    }

    func heartbeat(_ request: HeartbeatRequest, _ context: RequestContext) throws -> Reply<HeartbeatResponse> {
        .later(groups.read(request.groupId, partitions: offsetsPartitions, on: context.eventLoop) { shard in
            (shard.heartbeat(request, nowMs: Clock.nowMs()), [])
        }.recover { error in
            var response = HeartbeatResponse()
            response.errorCode = Self.coordinatorError(error).rawValue
            return response
        }.map { HandlerOutput(response: $0) })
    }

    func leaveGroup(_ request: LeaveGroupRequest, _ context: RequestContext) throws -> Reply<LeaveGroupResponse> {
        let version = context.version
        return .later(groups.submit(request.groupId, partitions: offsetsPartitions, on: context.eventLoop,
                                    extract: { if case .leave(let r) = $0 { r } else { nil } }) { shard, token in
            shard.leave(request, version: version, token: token, nowMs: Clock.nowMs())
        }.recover { error in
            var response = LeaveGroupResponse()
            response.errorCode = Self.coordinatorError(error).rawValue
            return response
        }.map { HandlerOutput(response: $0) })
    }

    /// TxnOffsetCommit (v0-3): a transactional producer commits a group's offsets inside its transaction; they
    /// count once the transaction commits.
    func txnOffsetCommit(_ request: TxnOffsetCommitRequest, _ context: RequestContext) throws -> Reply<TxnOffsetCommitResponse> {
        let image = controller.currentImage
        let known: (String) -> Bool = { image.topic(named: $0) != nil }
        return .later(groups.submit(request.groupId, partitions: offsetsPartitions, on: context.eventLoop,
                                    extract: { if case .txnOffsetCommit(let r) = $0 { r } else { nil } }) { shard, token in
            shard.txnCommitOffsets(request, token: token, nowMs: Clock.nowMs(), knownTopic: known)
        }.recover { error in
            var response = TxnOffsetCommitResponse()
            let code = Self.coordinatorError(error).rawValue
            response.topics = request.topics.map { topic in
                var result = TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic()
                result.name = topic.name
                result.partitions = topic.partitions.map { partition in
                    var entry = TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition()
                    entry.partitionIndex = partition.partitionIndex
                    entry.errorCode = code
                    return entry
                }
                return result
            }
            return response
        }.map { HandlerOutput(response: $0) })
    }

    func offsetCommit(_ request: OffsetCommitRequest, _ context: RequestContext) throws -> Reply<OffsetCommitResponse> {
        let version = context.version
        let image = controller.currentImage
        let known: (String) -> Bool = { image.topic(named: $0) != nil }
        return .later(groups.submit(request.groupId, partitions: offsetsPartitions, on: context.eventLoop,
                                    extract: { if case .offsetCommit(let r) = $0 { r } else { nil } }) { shard, token in
            shard.commitOffsets(request, version: version, token: token, nowMs: Clock.nowMs(), knownTopic: known)
        }.recover { error in
            var response = OffsetCommitResponse()
            let code = Self.coordinatorError(error).rawValue
            response.topics = request.topics.map { topic in
                var result = OffsetCommitResponse.OffsetCommitResponseTopic()
                result.name = topic.name
                result.partitions = topic.partitions.map { partition in
                    var entry = OffsetCommitResponse.OffsetCommitResponsePartition()
                    entry.partitionIndex = partition.partitionIndex
                    entry.errorCode = code
                    return entry
                }
                return result
            }
            return response
        }.map { HandlerOutput(response: $0) })
    }

    func offsetDelete(_ request: OffsetDeleteRequest, _ context: RequestContext) throws -> Reply<OffsetDeleteResponse> {
        .later(groups.submit(request.groupId, partitions: offsetsPartitions, on: context.eventLoop,
                             extract: { if case .offsetDelete(let r) = $0 { r } else { nil } }) { shard, token in
            shard.deleteOffsets(request, token: token)
        }.recover { error in
            var response = OffsetDeleteResponse()
            response.errorCode = Self.coordinatorError(error).rawValue
            return response
        }.map { HandlerOutput(response: $0) })
    }

    func deleteGroups(_ request: DeleteGroupsRequest, _ context: RequestContext) throws -> Reply<DeleteGroupsResponse> {
        let partitions = offsetsPartitions
        let results = request.groupsNames.map { groupId in
            groups.submit(groupId, partitions: partitions, on: context.eventLoop,
                          extract: { if case .deleteGroup(let r) = $0 { r } else { nil } }) { shard, token in
                shard.deleteGroup(groupId, token: token)
            }.recover { error in
                var result = DeleteGroupsResponse.DeletableGroupResult()
                result.groupId = groupId
                result.errorCode = Self.coordinatorError(error).rawValue
                return result
            }
        }
        return .later(EventLoopFuture.whenAllSucceed(results, on: context.eventLoop).map { results in
            var response = DeleteGroupsResponse()
            response.results = results
            return HandlerOutput(response: response)
        })
    }
}
