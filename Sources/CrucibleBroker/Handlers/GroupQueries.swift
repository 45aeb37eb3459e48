import CrucibleGroups
import CrucibleProtocol
import NIOCore

// Group APIs that only read: OffsetFetch, DescribeGroups, ListGroups.
extension BrokerApis {
    func offsetFetch(_ request: OffsetFetchRequest, _ context: RequestContext) throws -> Reply<OffsetFetchResponse> {
        let version = context.version
        if version >= 8 {
            let answers = request.groups.map { group in
                fetchGroupOffsets(group.groupId, group.topics.map { $0.map { ($0.name, $0.partitionIndexes) } },
                                  requireStable: request.requireStable, context)
            }
            return .later(EventLoopFuture.whenAllSucceed(answers, on: context.eventLoop).map { answers in
                var response = OffsetFetchResponse()
                response.groups = zip(request.groups, answers).map { group, answer in
                    var entry = OffsetFetchResponse.OffsetFetchResponseGroup()
                    entry.groupId = group.groupId
                    entry.errorCode = answer.error.rawValue
                    entry.topics = answer.topics.map { topic in
                        var t = OffsetFetchResponse.OffsetFetchResponseTopics()
                        t.name = topic.name
                        t.partitions = topic.partitions.map { p in
                            var out = OffsetFetchResponse.OffsetFetchResponsePartitions()
                            out.partitionIndex = p.partitionIndex
                            out.committedOffset = p.committedOffset
                            out.committedLeaderEpoch = p.committedLeaderEpoch
                            out.metadata = p.metadata
                            out.errorCode = p.errorCode
                            return out
                        }
                        return t
                    }
                    return entry
                }
                return HandlerOutput(response: response)
            })
        }
        let topics = request.topics.map { $0.map { ($0.name, $0.partitionIndexes) } }
        return .later(fetchGroupOffsets(request.groupId, topics, requireStable: version >= 7 && request.requireStable, context).map { answer in
            var response = OffsetFetchResponse()
            response.topics = answer.topics
            if version >= 2 {
                response.errorCode = answer.error.rawValue
            } else if answer.error != .none {
                // v0-1 have no top-level error: each partition carries it.
                response.topics = (topics ?? []).map { name, partitions in
                    var t = OffsetFetchResponse.OffsetFetchResponseTopic()
                    t.name = name
                    t.partitions = partitions.map { index in
                        var p = OffsetFetchResponse.OffsetFetchResponsePartition()
                        p.partitionIndex = index
                        p.committedOffset = -1
                        p.errorCode = answer.error.rawValue
                        return p
                    }
                    return t
                }
            }
            return HandlerOutput(response: response)
        })
    }

    /// One group's committed offsets for `topics` (nil: all it has). Partitions without a commit answer -1; with
    /// `requireStable` (KIP-447), those with offsets waiting on an open transaction answer UNSTABLE_OFFSET_COMMIT.
    private func fetchGroupOffsets(_ groupId: String, _ topics: [(String, [Int32])]?, requireStable: Bool, _ context: RequestContext)
        -> EventLoopFuture<(error: ErrorCode, topics: [OffsetFetchResponse.OffsetFetchResponseTopic])> {
        let keys = topics?.flatMap { name, partitions in partitions.map { TopicPartitionKey(name, $0) } }
        return groups.read(groupId, partitions: offsetsPartitions, on: context.eventLoop) { shard in
            ((shard.committedOffsets(groupId, keys), requireStable ? shard.unstableOffsets(groupId) : []), [])
        }.map { offsets, unstable in
            let order = keys ?? Set(offsets.keys).union(unstable).sorted()
            var byTopic: [(String, [OffsetFetchResponse.OffsetFetchResponsePartition])] = []
            for key in order {
                var p = OffsetFetchResponse.OffsetFetchResponsePartition()
                p.partitionIndex = key.partition
                if unstable.contains(key) {
                    p.committedOffset = -1
                    p.metadata = ""
                    p.errorCode = ErrorCode.unstableOffsetCommit.rawValue
                } else if let value = offsets[key] {
                    p.committedOffset = value.offset
                    p.committedLeaderEpoch = value.leaderEpoch
                    p.metadata = value.metadata
                } else {
                    p.committedOffset = -1
                    p.metadata = ""
                }
                if let last = byTopic.indices.last, byTopic[last].0 == key.topic { byTopic[last].1.append(p) }
                else { byTopic.append((key.topic, [p])) }
            }
            return (.none, byTopic.map { name, partitions in
                var t = OffsetFetchResponse.OffsetFetchResponseTopic()
                t.name = name
                t.partitions = partitions
                return t
            })
        }.recover { error in (Self.coordinatorError(error), []) }
    }

    func describeGroups(_ request: DescribeGroupsRequest, _ context: RequestContext) throws -> Reply<DescribeGroupsResponse> {
        let answers = request.groups.map { groupId in
            groups.read(groupId, partitions: offsetsPartitions, on: context.eventLoop) { shard in (shard.describe(groupId), []) }
                .recover { error in
                    var described = DescribeGroupsResponse.DescribedGroup()
                    described.groupId = groupId
                    described.errorCode = Self.coordinatorError(error).rawValue
                    return described
                }
        }
        return .later(EventLoopFuture.whenAllSucceed(answers, on: context.eventLoop).map { described in
            var response = DescribeGroupsResponse()
            response.groups = described
            return HandlerOutput(response: response)
        })
    }

    func listGroups(_ request: ListGroupsRequest, _ context: RequestContext) throws -> Reply<ListGroupsResponse> {
        let states = Set(request.statesFilter.map { $0.lowercased() })
        let types = Set(request.typesFilter.map { $0.lowercased() })
        return .later(groups.collect(on: context.eventLoop) { shard in shard.listGroups(states: states) }.map { answer in
            var response = ListGroupsResponse()
            response.groups = answer.values.filter { types.isEmpty || types.contains($0.groupType) }
            if answer.loading { response.errorCode = ErrorCode.coordinatorLoadInProgress.rawValue }
            return HandlerOutput(response: response)
        })
    }
}
