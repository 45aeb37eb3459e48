import CrucibleProtocol
import NIOCore

public struct CommittedOffset: Sendable, Equatable {
    public var offset: Int64
    public var leaderEpoch: Int32
    public var metadata: String?
}

/// Committed offsets: read (OffsetFetch), written from outside the group (OffsetCommit with generation -1, as
/// Kafka's admin client does) and deleted (OffsetDelete), always at the group's coordinator. The request builders
/// are shared with `GroupMember`, which commits as a member of its generation.
extension KafkaClient {
    /// The offsets `group` committed for `partitions` (every committed partition when nil); partitions without
    /// a committed offset are left out.
    public func committedOffsets(group: String, partitions: [TopicPartition]? = nil) throws -> [TopicPartition: CommittedOffset] {
        try onCoordinator(of: group) { connection, _ in
            try Self.offsetFetch(group: group, partitions: partitions, on: connection, timeout: requestTimeout)
        }
    }

    /// OffsetFetch on `connection`: one group in the request body (v0-7) or the group list (v8+).
    static func offsetFetch(group: String, partitions: [TopicPartition]?, on connection: BrokerConnection,
                            timeout: TimeAmount) throws -> [TopicPartition: CommittedOffset] {
        let byTopic = partitions.map { Dictionary(grouping: $0, by: \.topic).sorted { $0.key < $1.key } }
        var request = OffsetFetchRequest()
        request.groupId = group
        request.topics = byTopic?.map { topic, owned in
            var entry = OffsetFetchRequest.OffsetFetchRequestTopic()
            entry.name = topic
            entry.partitionIndexes = owned.map(\.partition)
            return entry
        }
        var wanted = OffsetFetchRequest.OffsetFetchRequestGroup()
        wanted.groupId = group
        wanted.topics = byTopic?.map { topic, owned in
            var entry = OffsetFetchRequest.OffsetFetchRequestTopics()
            entry.name = topic
            entry.partitionIndexes = owned.map(\.partition)
            return entry
        }
        request.groups = [wanted]
        let (response, version) = try connection.send(request, timeout: timeout).wait()
        var rows: [(TopicPartition, Int64, Int32, String?, Int16)] = []
        if version >= 8 {
            guard let answer = response.groups.first(where: { $0.groupId == group }) else {
                throw KafkaClientError.malformedResponse("OffsetFetch answer does not name \(group)")
            }
            try ErrorCode(rawValue: answer.errorCode).check("fetching offsets of group \(group)")
            for topic in answer.topics {
                for p in topic.partitions {
                    rows.append((TopicPartition(topic.name, p.partitionIndex), p.committedOffset,
                                 p.committedLeaderEpoch, p.metadata, p.errorCode))
                }
            }
        } else {
            try ErrorCode(rawValue: response.errorCode).check("fetching offsets of group \(group)")
            for topic in response.topics {
                for p in topic.partitions {
                    rows.append((TopicPartition(topic.name, p.partitionIndex), p.committedOffset,
                                 p.committedLeaderEpoch, p.metadata, p.errorCode))
                }
            }
        }
        var offsets: [TopicPartition: CommittedOffset] = [:]
        for (partition, offset, epoch, metadata, error) in rows {
            // A partition-level coordinator error means the whole answer is stale.
            try ErrorCode(rawValue: error).check("fetching the offset of \(partition) for group \(group)")
            if offset >= 0 { offsets[partition] = CommittedOffset(offset: offset, leaderEpoch: epoch, metadata: metadata) }
        }
        return offsets
    }

    /// Commits `offsets` for `group` from outside the group (generation -1, no member id), as Kafka's admin
    /// client does; accepted while the group has no active members. Returns each partition's error.
    @discardableResult
    public func commitOffsets(group: String, _ offsets: [TopicPartition: Int64]) throws -> [TopicPartition: ErrorCode] {
        try onCoordinator(of: group) { connection, _ in
            let request = Self.offsetCommitRequest(group: group, offsets, generation: -1, memberId: "",
                                                   groupInstanceId: nil)
            return try Self.offsetCommit(request, on: connection, timeout: requestTimeout)
        }
    }

    static func offsetCommitRequest(group: String, _ offsets: [TopicPartition: Int64], generation: Int32,
                                    memberId: String, groupInstanceId: String?) -> OffsetCommitRequest {
        var request = OffsetCommitRequest()
        request.groupId = group
        request.generationIdOrMemberEpoch = generation
        request.memberId = memberId
        request.groupInstanceId = groupInstanceId
        request.topics = Dictionary(grouping: offsets.keys, by: \.topic).sorted { $0.key < $1.key }.map { topic, owned in
            var entry = OffsetCommitRequest.OffsetCommitRequestTopic()
            entry.name = topic
            entry.partitions = owned.sorted().map { partition in
                var commit = OffsetCommitRequest.OffsetCommitRequestPartition()
                commit.partitionIndex = partition.partition
                commit.committedOffset = offsets[partition]!
                return commit
            }
            return entry
        }
        return request
    }

    /// Sends an OffsetCommit; a coordinator error on any partition is thrown (so the caller finds the coordinator
    /// again), other errors come back per partition.
    static func offsetCommit(_ request: OffsetCommitRequest, on connection: BrokerConnection,
                             timeout: TimeAmount) throws -> [TopicPartition: ErrorCode] {
        let (response, _) = try connection.send(request, timeout: timeout).wait()
        var results: [TopicPartition: ErrorCode] = [:]
        for topic in response.topics {
            for partition in topic.partitions {
                let code = ErrorCode(rawValue: partition.errorCode)
                if code.isCoordinatorError { throw KafkaClientError.kafka(code, message: "committing offsets") }
                results[TopicPartition(topic.name, partition.partitionIndex)] = code
            }
        }
        return results
    }

    /// OffsetDelete: the request's error and each partition's.
    public func deleteOffsets(group: String, _ partitions: [TopicPartition]) throws
        -> (error: ErrorCode, partitions: [TopicPartition: ErrorCode]) {
        try onCoordinator(of: group) { connection, _ in
            var request = OffsetDeleteRequest()
            request.groupId = group
            request.topics = Dictionary(grouping: partitions, by: \.topic).sorted { $0.key < $1.key }.map { topic, owned in
                var entry = OffsetDeleteRequest.OffsetDeleteRequestTopic()
                entry.name = topic
                entry.partitions = owned.sorted().map {
                    var partition = OffsetDeleteRequest.OffsetDeleteRequestPartition()
                    partition.partitionIndex = $0.partition
                    return partition
                }
                return entry
            }
            let (response, _) = try call(request, on: connection)
            let code = ErrorCode(rawValue: response.errorCode)
            if code.isCoordinatorError { throw KafkaClientError.kafka(code, message: "deleting offsets of \(group)") }
            var results: [TopicPartition: ErrorCode] = [:]
            for topic in response.topics {
                for partition in topic.partitions {
                    results[TopicPartition(topic.name, partition.partitionIndex)] = ErrorCode(rawValue: partition.errorCode)
                }
            }
            return (code, results)
        }
    }
}
