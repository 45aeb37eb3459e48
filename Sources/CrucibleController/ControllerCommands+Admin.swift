import CrucibleProtocol

/// The outcome of one partition's part of an admin request (ElectLeaders, reassignments).
public struct PartitionOutcome: Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var error: ErrorCode
    public var message: String?

    public init(topic: String, partition: Int32, error: ErrorCode, message: String? = nil) {
        self.topic = topic
        self.partition = partition
        self.error = error
        self.message = message
    }
}

/// Kafka's ElectionType: preferred (0) or unclean (1).
public enum ElectionType: Int8, Sendable {
    case preferred = 0
    case unclean = 1
}

/// A move asked for by AlterPartitionReassignments: the target replicas, or nil to cancel.
public struct ReassignmentRequest: Sendable {
    public var topic: String
    public var partition: Int32
    public var replicas: [Int32]?

    public init(topic: String, partition: Int32, replicas: [Int32]?) {
        self.topic = topic
        self.partition = partition
        self.replicas = replicas
    }
}

extension ControllerCommands {
    /// Kafka's checks on a replica list someone chose (manual assignment, reassignment target): not empty, no
    /// broker twice, every broker registered, and the same replica count as `expectedCount` when given.
    static func assignmentProblem(_ replicas: [Int32], image: MetadataImage, expectedCount: Int? = nil) -> String? {
        if replicas.isEmpty { return "The manual partition assignment includes an empty replica list." }
        var seen = Set<Int32>()
        for broker in replicas {
            guard seen.insert(broker).inserted else {
                return "The manual partition assignment includes the broker \(broker) more than once."
            }
            guard image.brokers[broker] != nil else {
                return "The manual partition assignment includes broker \(broker), but no such broker is registered."
            }
        }
        if let expectedCount, replicas.count != expectedCount {
            return "The manual partition assignment includes a partition with \(replicas.count) replica(s), but this is not consistent with previous partitions, which have \(expectedCount) replica(s)."
        }
        return nil
    }

    /// A new partition placed on `replicas`: its ISR is the live ones, led by the first of them.
    static func newPartition(topicId: KafkaUUID, index: Int32, replicas: [Int32], live: Set<Int32>) -> PartitionRecord? {
        let isr = replicas.filter { live.contains($0) }
        guard let leader = isr.first else { return nil }
        var partition = PartitionRecord()
        partition.partitionId = index
        partition.topicId = topicId
        partition.replicas = replicas
        partition.isr = isr
        partition.leader = leader
        partition.leaderEpoch = 0
        partition.partitionEpoch = 0
        return partition
    }

    /// CreatePartitions: grows `topic` to `count` partitions, placed as `assignments` say or spread over the
    /// live brokers with the topic's replication factor.
    public static func createPartitions(topic name: String, count: Int32, assignments: [[Int32]]?,
                                        image: MetadataImage) -> ([any KafkaMetadataRecord], (ErrorCode, String?)) {
        guard let topic = image.topic(named: name) else {
            return ([], (.unknownTopicOrPartition, "The topic '\(name)' does not exist."))
        }
        let current = Int32(topic.partitionCount)
        if count < current {
            return ([], (.invalidPartitions, "The topic \(name) currently has \(current) partition(s); \(count) would not be an increase."))
        }
        if count == current { return ([], (.invalidPartitions, "Topic already has \(current) partition(s).")) }
        if count > TopicRules.maxPartitionsPerTopic {
            return ([], (.invalidPartitions, "Number of partitions must be at most \(TopicRules.maxPartitionsPerTopic)."))
        }
        let replicationFactor = topic.partitions[0]?.replicas.count ?? topic.partitions.values.first?.replicas.count ?? 1
        let live = image.liveBrokerIds
        let placements: [[Int32]]
        if let assignments {
            guard assignments.count == Int(count - current) else {
                return ([], (.invalidReplicaAssignment, "Attempted to add \(count - current) additional partition(s), but only \(assignments.count) assignment(s) were specified."))
            }
            for replicas in assignments {
                if let problem = assignmentProblem(replicas, image: image, expectedCount: replicationFactor) {
                    return ([], (.invalidReplicaAssignment, problem))
                }
            }
            placements = assignments
        } else {
            guard replicationFactor <= live.count else {
                return ([], (.invalidReplicationFactor, "Unable to replicate the partition \(replicationFactor) time(s): The target replication factor of \(replicationFactor) cannot be reached because only \(live.count) broker(s) are registered."))
            }
            placements = Array(TopicRules.assignReplicas(partitions: count, replicationFactor: Int16(replicationFactor),
                                                         brokers: Array(live), start: Int(truncatingIfNeeded: topic.id.low % 1024))
                .dropFirst(Int(current)))
        }
        var records: [any KafkaMetadataRecord] = []
        for (offset, replicas) in placements.enumerated() {
            let index = current + Int32(offset)
            guard let record = newPartition(topicId: topic.id, index: index, replicas: replicas, live: live) else {
                return ([], (.invalidReplicaAssignment, "All brokers specified in the manual partition assignment for partition \(index) are fenced or in controlled shutdown."))
            }
            records.append(record)
        }
        return (records, (.none, nil))
    }

    /// ElectLeaders. `partitions` nil means every partition, and then those that need no election are left out
    /// of the answer, as Kafka does.
    public static func electLeaders(_ type: ElectionType, partitions: [(topic: String, partition: Int32)]?,
                                    image: MetadataImage) -> ([any KafkaMetadataRecord], [PartitionOutcome]) {
        let wanted = partitions ?? image.sortedTopics.flatMap { topic in
            topic.partitions.keys.sorted().map { (topic: topic.name, partition: $0) }
        }
        var records: [any KafkaMetadataRecord] = []
        var outcomes: [PartitionOutcome] = []
        for (name, index) in wanted {
            var outcome = PartitionOutcome(topic: name, partition: index, error: .none)
            if let topic = image.topic(named: name), let partition = topic.partitions[index] {
                switch election(type, partition, live: image.liveBrokerIds) {
                case .success(let (leader, isr)):
                    var change = PartitionChangeRecord()
                    change.topicId = topic.id
                    change.partitionId = index
                    change.leader = leader
                    change.isr = isr
                    records.append(change)
                case .failure(let failure):
                    (outcome.error, outcome.message) = (failure.code, failure.message)
                }
            } else {
                outcome.error = .unknownTopicOrPartition
                outcome.message = "The partition does not exist."
            }
            if partitions == nil && outcome.error == .electionNotNeeded { continue }
            outcomes.append(outcome)
        }
        return (records, outcomes)
    }

    struct ElectionFailure: Error {
        var code: ErrorCode
        var message: String
    }

    /// The leader (and ISR) an election of `type` gives `partition`. Preferred: the first replica, when live
    /// and in sync. Unclean, for a partition without a live leader: an in-sync live replica if any, else any
    /// live replica, whose ISR then starts over with it alone.
    static func election(_ type: ElectionType, _ partition: PartitionImage,
                         live: Set<Int32>) -> Result<(Int32, [Int32]), ElectionFailure> {
        switch type {
        case .preferred:
            guard let preferred = partition.replicas.first else {
                return .failure(ElectionFailure(code: .preferredLeaderNotAvailable, message: "no replicas"))
            }
            if partition.leader == preferred {
                return .failure(ElectionFailure(code: .electionNotNeeded, message: "Leader election not needed for topic partition."))
            }
            guard partition.isr.contains(preferred) else {
                return .failure(ElectionFailure(code: .preferredLeaderNotAvailable,
                                                message: "Failed to elect leader for partition: preferred replica \(preferred) is not in the ISR \(partition.isr)."))
            }
            guard live.contains(preferred) else {
                return .failure(ElectionFailure(code: .preferredLeaderNotAvailable,
                                                message: "Failed to elect leader for partition: preferred replica \(preferred) is fenced."))
            }
            return .success((preferred, partition.isr))
        case .unclean:
            if partition.leader >= 0 && live.contains(partition.leader) {
                return .failure(ElectionFailure(code: .electionNotNeeded, message: "Leader election not needed for topic partition."))
            }
            if let clean = partition.replicas.first(where: { partition.isr.contains($0) && live.contains($0) }) {
                return .success((clean, partition.isr))
            }
            if let any = partition.replicas.first(where: { live.contains($0) }) { return .success((any, [any])) }
            return .failure(ElectionFailure(code: .eligibleLeadersNotAvailable,
                                            message: "Failed to elect leader for partition: no replica is live."))
        }
    }
}
