import CrucibleProtocol

/// One partition's answer to an admin request: the error code and the broker's message.
public struct PartitionResult: Sendable {
    public var partition: TopicPartition
    public var error: ErrorCode
    public var message: String?
}

/// A partition's reassignment in progress (ListPartitionReassignments).
public struct OngoingReassignment: Sendable {
    public var partition: TopicPartition
    public var replicas: [Int32]
    public var adding: [Int32]
    public var removing: [Int32]
}

/// One partition's log on one broker (DescribeLogDirs).
public struct ReplicaLogInfo: Sendable {
    public var partition: TopicPartition
    public var size: Int64
    public var offsetLag: Int64
    public var isFuture: Bool
}

public struct LogDirInfo: Sendable {
    public var path: String
    public var error: ErrorCode
    public var replicas: [ReplicaLogInfo]
}

/// The admin calls of kafka-topics, kafka-delete-records, kafka-log-dirs, kafka-leader-election and
/// kafka-reassign-partitions.
extension KafkaClient {
    /// Grows `topic` to `count` partitions, placing the new ones as `assignments` say when given.
    public func createPartitions(_ topic: String, count: Int32, assignments: [[Int32]]? = nil) throws {
        var entry = CreatePartitionsRequest.CreatePartitionsTopic()
        entry.name = topic
        entry.count = count
        entry.assignments = assignments?.map { brokers in
            var assignment = CreatePartitionsRequest.CreatePartitionsAssignment()
            assignment.brokerIds = brokers
            return assignment
        }
        var request = CreatePartitionsRequest()
        request.topics = [entry]
        request.timeoutMs = timeoutMs
        let (response, _) = try call(request, on: try anyConnection())
        guard let result = response.results.first(where: { $0.name == topic }) else {
            throw KafkaClientError.malformedResponse("CreatePartitions answer does not name \(topic)")
        }
        try ErrorCode(rawValue: result.errorCode).check(result.errorMessage)
    }

    /// DeleteRecords on each partition's leader: the log start offsets after deletion.
    public func deleteRecords(before offsets: [TopicPartition: Int64]) throws -> [TopicPartition: Result<Int64, KafkaClientError>] {
        let responses = try callLeaders(offsets.keys) { owned, _ in
            var request = DeleteRecordsRequest()
            request.timeoutMs = timeoutMs
            request.topics = Dictionary(grouping: owned, by: \.topic).map { topic, partitions in
                var entry = DeleteRecordsRequest.DeleteRecordsTopic()
                entry.name = topic
                entry.partitions = partitions.map { partition in
                    var wanted = DeleteRecordsRequest.DeleteRecordsPartition()
                    wanted.partitionIndex = partition.partition
                    wanted.offset = offsets[partition]!
                    return wanted
                }
                return entry
            }
            return request
        }
        var results: [TopicPartition: Result<Int64, KafkaClientError>] = [:]
        for (response, _) in responses {
            for topic in response.topics {
                for partition in topic.partitions {
                    let key = TopicPartition(topic.name, partition.partitionIndex)
                    let code = ErrorCode(rawValue: partition.errorCode)
                    results[key] = code == .none ? .success(partition.lowWatermark) : .failure(.kafka(code, message: nil))
                }
            }
        }
        return results
    }

    /// ElectLeaders of `type` (0 preferred, 1 unclean) for `partitions`, or every partition when nil.
    public func electLeaders(type: Int8, partitions: [TopicPartition]?) throws -> [PartitionResult] {
        var request = ElectLeadersRequest()
        request.electionType = type
        request.timeoutMs = timeoutMs
        request.topicPartitions = partitions.map { partitions in
            Dictionary(grouping: partitions, by: \.topic).sorted { $0.key < $1.key }.map { topic, owned in
                var entry = ElectLeadersRequest.TopicPartitions()
                entry.topic = topic
                entry.partitions = owned.map(\.partition)
                return entry
            }
        }
        let (response, _) = try call(request, on: try anyConnection())
        try ErrorCode(rawValue: response.errorCode).check("ElectLeaders")
        return response.replicaElectionResults.flatMap { topic in
            topic.partitionResult.map {
                PartitionResult(partition: TopicPartition(topic.topic, $0.partitionId),
                                error: ErrorCode(rawValue: $0.errorCode), message: $0.errorMessage)
            }
        }
    }

    /// AlterPartitionReassignments: a target replica list per partition, or nil to cancel.
    public func alterPartitionReassignments(_ moves: [TopicPartition: [Int32]?]) throws -> [PartitionResult] {
        var request = AlterPartitionReassignmentsRequest()
        request.timeoutMs = timeoutMs
        request.topics = Dictionary(grouping: moves.keys, by: \.topic).sorted { $0.key < $1.key }.map { topic, owned in
            var entry = AlterPartitionReassignmentsRequest.ReassignableTopic()
            entry.name = topic
            entry.partitions = owned.sorted().map { partition in
                var wanted = AlterPartitionReassignmentsRequest.ReassignablePartition()
                wanted.partitionIndex = partition.partition
                wanted.replicas = moves[partition]!
                return wanted
            }
            return entry
        }
        let (response, _) = try call(request, on: try anyConnection())
        try ErrorCode(rawValue: response.errorCode).check(response.errorMessage)
        return response.responses.flatMap { topic in
            topic.partitions.map {
                PartitionResult(partition: TopicPartition(topic.name, $0.partitionIndex),
                                error: ErrorCode(rawValue: $0.errorCode), message: $0.errorMessage)
            }
        }
    }

    public func listPartitionReassignments(_ partitions: [TopicPartition]? = nil) throws -> [OngoingReassignment] {
        var request = ListPartitionReassignmentsRequest()
        request.timeoutMs = timeoutMs
        request.topics = partitions.map { partitions in
            Dictionary(grouping: partitions, by: \.topic).map { topic, owned in
                var entry = ListPartitionReassignmentsRequest.ListPartitionReassignmentsTopics()
                entry.name = topic
                entry.partitionIndexes = owned.map(\.partition)
                return entry
            }
        }
        let (response, _) = try call(request, on: try anyConnection())
        try ErrorCode(rawValue: response.errorCode).check(response.errorMessage)
        return response.topics.flatMap { topic in
            topic.partitions.map {
                OngoingReassignment(partition: TopicPartition(topic.name, $0.partitionIndex),
                                    replicas: $0.replicas, adding: $0.addingReplicas, removing: $0.removingReplicas)
            }
        }
    }

    /// DescribeLogDirs on one broker, for `topics` (all when nil).
    public func describeLogDirs(broker: Int32, topics: [String]?) throws -> [LogDirInfo] {
        var request = DescribeLogDirsRequest()
        if let topics {
            let metadata = try refreshMetadata(topics: topics)
            request.topics = topics.compactMap { name in
                guard let topic = metadata.topics[name] else { return nil }
                var entry = DescribeLogDirsRequest.DescribableLogDirTopic()
                entry.topic = name
                entry.partitions = topic.partitions.map(\.partition)
                return entry
            }
        } else {
            request.topics = nil
        }
        let (response, _) = try call(request, on: try connection(to: broker))
        try ErrorCode(rawValue: response.errorCode).check("DescribeLogDirs")
        return response.results.map { dir in
            LogDirInfo(path: dir.logDir, error: ErrorCode(rawValue: dir.errorCode), replicas: dir.topics.flatMap { topic in
                topic.partitions.map {
                    ReplicaLogInfo(partition: TopicPartition(topic.name, $0.partitionIndex),
                                   size: $0.partitionSize, offsetLag: $0.offsetLag, isFuture: $0.isFutureKey)
                }
            })
        }
    }

    var timeoutMs: Int32 { Int32(requestTimeout.nanoseconds / 1_000_000) }
}

extension KafkaClient {
    /// The API version ranges a broker advertises (ApiVersions), by api key, unknown keys included.
    public func advertisedApiVersions() throws -> [Int16: ClosedRange<Int16>] {
        let connection = try anyConnection()
        let response = try connection.send(ApiVersionsRequest(), version: try connection.version(of: .apiVersions),
                                           timeout: requestTimeout).wait()
        try ErrorCode(rawValue: response.errorCode).check("ApiVersions")
        return Dictionary(response.apiKeys.map { ($0.apiKey, $0.minVersion...$0.maxVersion) }, uniquingKeysWith: { a, _ in a })
    }
}
