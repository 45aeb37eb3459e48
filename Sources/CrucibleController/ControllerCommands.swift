import CrucibleMutations
import CrucibleProtocol

/// Pure decisions: a request and the current image in, the metadata records that carry it out and the answer
/// out. Nothing here touches the log, so each rule is testable on an image alone.
public enum ControllerCommands {
    /// A broker registering while its previous incarnation still counts as live restarted faster than its session
    /// ran out: what that incarnation was in sync with or led may be lost (unflushed writes), so it first leaves
    /// every ISR and leadership, as if fenced, and earns its way back by fetching. Those moves come before the
    /// registration record, whose offset is the broker epoch: the broker is unfenced only once it has applied both.
    public static func registerBroker(id: Int32, endpoints: [BrokerEndpointImage], rack: String? = nil,
                                      incarnation: KafkaUUID, image: MetadataImage,
                                      uncleanAllowed: (String) -> Bool = { _ in false })
        -> ([any KafkaMetadataRecord], Int64) {
        let moves = image.brokers[id].map { $0.fenced } == false
            ? moveAwayFrom(broker: id, image: image, live: image.liveBrokerIds.subtracting([id]),
                           uncleanAllowed: uncleanAllowed)
            : []
        var record = RegisterBrokerRecord()
        record.brokerId = id
        record.rack = rack
        // Broker epochs grow with every registration so a restarted broker's stale requests can be told apart.
        record.brokerEpoch = max(image.appliedOffset + 1 + Int64(moves.count), (image.brokers[id]?.epoch ?? -1) + 1)
        record.incarnationId = incarnation
        // Registered fenced: the broker's first heartbeat unfences it (KIP-631), and that is when partitions
        // waiting for it as their last in-sync replica get it back as leader.
        record.fenced = true
        record.endPoints = endpoints.map {
            var endpoint = RegisterBrokerRecord.BrokerEndpoint()
            endpoint.name = $0.name
            endpoint.host = $0.host
            endpoint.port = UInt16(clamping: $0.port)
            return endpoint
        }
        return (moves + [record], record.brokerEpoch)
    }

    /// `newTopicId` is injectable so simulations stay deterministic (the id also seeds replica placement).
    public static func createTopics(_ requests: [TopicCreation], image: MetadataImage, policy: ControllerPolicy,
                                    newTopicId: () -> KafkaUUID = KafkaUUID.random)
        -> ([any KafkaMetadataRecord], [TopicCreationResult]) {
        var records: [any KafkaMetadataRecord] = []
        var results: [TopicCreationResult] = []
        var claimed = Set<String>()
        for request in requests {
            let manual = !request.assignments.isEmpty
            let partitions = manual ? Int32(request.assignments.count)
                : request.partitions == -1 ? policy.defaultPartitions : request.partitions
            let replicationFactor = manual ? Int16(request.assignments[0].count)
                : request.replicationFactor == -1 ? policy.defaultReplicationFactor : request.replicationFactor
            var result = TopicCreationResult(name: request.name, error: .none, message: nil, topicId: .zero,
                                             partitions: partitions, replicationFactor: replicationFactor)
            if let problem = problem(with: request, partitions: partitions, replicationFactor: replicationFactor,
                                     image: image, claimed: claimed, policy: policy) {
                (result.error, result.message) = problem
                results.append(result)
                continue
            }
            claimed.insert(request.name)
            result.topicId = newTopicId()
            results.append(result)
            records += topicRecords(name: request.name, id: result.topicId, partitions: partitions,
                                    replicationFactor: replicationFactor, assignments: request.assignments,
                                    configs: request.configs, image: image)
        }
        return (records, results)
    }

    private static func problem(with request: TopicCreation, partitions: Int32, replicationFactor: Int16,
                                image: MetadataImage, claimed: Set<String>,
                                policy: ControllerPolicy) -> (ErrorCode, String)? {
        if let problem = TopicRules.problem(withName: request.name) { return (.invalidTopicException, problem) }
        if image.topic(named: request.name) != nil || claimed.contains(request.name) {
            return (.topicAlreadyExists, "Topic '\(request.name)' already exists.")
        }
        if !request.assignments.isEmpty {
            guard request.partitions == -1 && request.replicationFactor == -1 else {
                return (.invalidRequest, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.")
            }
            let live = image.liveBrokerIds
            for (index, replicas) in request.assignments.enumerated() {
                if let problem = assignmentProblem(replicas, image: image, expectedCount: request.assignments[0].count) {
                    return (.invalidReplicaAssignment, problem)
                }
                guard replicas.contains(where: live.contains) else {
                    return (.invalidReplicaAssignment, "All brokers specified in the manual partition assignment for partition \(index) are fenced or in controlled shutdown.")
                }
            }
            return configProblem(request, policy: policy)
        }
        guard partitions > 0 && partitions <= TopicRules.maxPartitionsPerTopic else {
            return (.invalidPartitions, "Number of partitions must be between 1 and \(TopicRules.maxPartitionsPerTopic).")
        }
        let live = image.liveBrokerIds.count
        guard replicationFactor > 0 && Int(replicationFactor) <= live else {
            return (.invalidReplicationFactor,
                    "Replication factor: \(replicationFactor) larger than available brokers: \(live).")
        }
        return configProblem(request, policy: policy)
    }

    private static func configProblem(_ request: TopicCreation, policy: ControllerPolicy) -> (ErrorCode, String)? {
        for (key, value) in request.configs {
            do { try policy.validateTopicConfig(key, value) } catch { return (.invalidConfig, "\(error)") }
        }
        return nil
    }

    private static func topicRecords(name: String, id: KafkaUUID, partitions: Int32, replicationFactor: Int16,
                                     assignments: [[Int32]], configs: [String: String],
                                     image: MetadataImage) -> [any KafkaMetadataRecord] {
        var topic = TopicRecord()
        topic.name = name
        topic.topicId = id
        var records: [any KafkaMetadataRecord] = [topic]
        for (key, value) in configs.sorted(by: { $0.key < $1.key }) {
            records.append(configRecord(topic: name, key: key, value: value))
        }
        let live = image.liveBrokerIds
        let assignment = !assignments.isEmpty ? assignments
            : TopicRules.assignReplicas(partitions: partitions, replicationFactor: replicationFactor,
                                        brokers: Array(live), start: Int(truncatingIfNeeded: id.low % 1024))
        for (index, replicas) in assignment.enumerated() {
            if let partition = newPartition(topicId: id, index: Int32(index), replicas: replicas, live: live) {
                records.append(partition)
            }
        }
        return records
    }

    static func configRecord(topic: String, key: String, value: String?) -> ConfigRecord {
        var record = ConfigRecord()
        record.resourceType = ConfigResourceType.topic
        record.resourceName = topic
        record.name = key
        record.value = value
        return record
    }

    public static func deleteTopics(_ names: [String], image: MetadataImage) -> ([any KafkaMetadataRecord], [String: ErrorCode]) {
        var results: [String: ErrorCode] = [:]
        var records: [any KafkaMetadataRecord] = []
        for name in names {
            guard let topic = image.topic(named: name) else {
                results[name] = .unknownTopicOrPartition
                continue
            }
            guard results[name] == nil else { continue }
            var remove = RemoveTopicRecord()
            remove.topicId = topic.id
            records.append(remove)
            results[name] = ErrorCode.none
        }
        return (records, results)
    }

    public static func alterTopicConfigs(_ topic: String, _ changes: [(key: String, value: String?)], image: MetadataImage,
                                         policy: ControllerPolicy) -> ([any KafkaMetadataRecord], (ErrorCode, String?)) {
        guard image.topic(named: topic) != nil else { return ([], (.unknownTopicOrPartition, "Topic \(topic) not found")) }
        for (key, value) in changes {
            guard let value else { continue }
            do { try policy.validateTopicConfig(key, value) } catch { return ([], (.invalidConfig, "\(error)")) }
        }
        return (changes.map { configRecord(topic: topic, key: $0.key, value: $0.value) }, (.none, nil))
    }

    public static func allocateProducerIds(brokerId: Int32, blockSize: Int64,
                                           image: MetadataImage) -> ([any KafkaMetadataRecord], ClosedRange<Int64>) {
        let first = image.nextProducerId
        var record = ProducerIdsRecord()
        record.brokerId = brokerId
        record.brokerEpoch = image.brokers[brokerId]?.epoch ?? 0
        record.nextProducerId = first + blockSize
        return ([record], first...(first + blockSize - 1))
    }
}

extension ControllerCommands {
    /// A leader's ISR change (AlterPartition), refused when it comes from a stale leader epoch or partition
    /// epoch, names replicas that are not assigned, or adds a fenced broker.
    /// `shuttingDown`: brokers in controlled shutdown, which may not join an ISR (KIP-841): a replica still
    /// fetching on its way out must not be counted in sync once it is gone.
    public static func alterPartition(topicId: KafkaUUID, partition index: Int32, leaderId: Int32, leaderEpoch: Int32,
                                      partitionEpoch: Int32, isr: [Int32], shuttingDown: Set<Int32> = [],
                                      image: MetadataImage) -> ([any KafkaMetadataRecord], ErrorCode) {
        guard let topic = image.topic(id: topicId), let partition = topic.partitions[index] else {
            return ([], .unknownTopicOrPartition)
        }
        guard partition.leader == leaderId, partition.leaderEpoch == leaderEpoch else { return ([], .fencedLeaderEpoch) }
        guard partition.partitionEpoch == partitionEpoch else { return ([], .invalidUpdateVersion) }
        guard isr.contains(leaderId), Set(isr).isSubset(of: partition.replicas) else { return ([], .invalidRequest) }
        let added = Set(isr).subtracting(partition.isr)
        guard added.allSatisfy({ image.brokers[$0].map { !$0.fenced } ?? false }),
              added.isDisjoint(with: shuttingDown) else { return ([], .ineligibleReplica) }
        guard isr.sorted() != partition.isr.sorted() else { return ([], .none) }
        var change = PartitionChangeRecord()
        change.topicId = topicId
        change.partitionId = index
        change.isr = isr
        return ([completingReassignment(change, partition: partition)], .none)
    }

    /// Elects a leader for every partition `broker` leads or is in the ISR of, as when it is fenced or shuts
    /// down: it leaves the ISR, and a new leader comes from the remaining ISR. With no ISR member left the
    /// partition goes offline (leader -1, the ISR kept so the last member can return) unless the topic allows
    /// unclean election, which picks any live replica and restarts the ISR with it alone.
    public static func moveAwayFrom(broker: Int32, image: MetadataImage, live: Set<Int32>,
                                    uncleanAllowed: (String) -> Bool) -> [any KafkaMetadataRecord] {
        var records: [any KafkaMetadataRecord] = []
        for topic in image.sortedTopics {
            for index in topic.partitions.keys.sorted() {
                let partition = topic.partitions[index]!
                guard partition.leader == broker || partition.isr.contains(broker) else { continue }
                var remaining = partition.isr.filter { $0 != broker && live.contains($0) }
                if Mutation.electOutOfSyncReplica.isActive { remaining = partition.replicas.filter { $0 != broker && live.contains($0) } }
                var change = PartitionChangeRecord()
                change.topicId = topic.id
                change.partitionId = index
                if partition.leader != broker {
                    change.isr = partition.isr.filter { $0 != broker }
                } else if let next = partition.replicas.first(where: { remaining.contains($0) }) {
                    change.leader = next
                    change.isr = partition.isr.filter { $0 != broker }
                    if Mutation.electOutOfSyncReplica.isActive, !partition.isr.contains(next) { change.isr!.append(next) }
                } else if uncleanAllowed(topic.name),
                          let anyLive = partition.replicas.first(where: { $0 != broker && live.contains($0) }) {
                    change.leader = anyLive
                    change.isr = [anyLive]
                } else {
                    change.leader = -1
                    // Keep the last in-sync replica in the ISR: it alone may lead again without losing data.
                    change.isr = partition.isr
                }
                records.append(change)
            }
        }
        return records
    }

    /// Partitions without a leader that `broker`, live again, may lead: those whose ISR holds it, and with
    /// unclean election allowed, any it is a replica of (its log may lack acknowledged writes).
    public static func electReturning(broker: Int32, image: MetadataImage,
                                      uncleanAllowed: (String) -> Bool) -> [any KafkaMetadataRecord] {
        var records: [any KafkaMetadataRecord] = []
        for topic in image.sortedTopics {
            for index in topic.partitions.keys.sorted() {
                let partition = topic.partitions[index]!
                guard partition.leader == -1, partition.replicas.contains(broker) else { continue }
                guard partition.isr.contains(broker) || uncleanAllowed(topic.name) else { continue }
                var change = PartitionChangeRecord()
                change.topicId = topic.id
                change.partitionId = index
                change.leader = broker
                change.isr = [broker]
                records.append(change)
            }
        }
        return records
    }
}

extension ControllerCommands {
    /// Preferred-leader election (`auto.leader.rebalance.enable`): partitions whose first replica is live and in
    /// the ISR but not leading get it back, so leadership returns to its spread after failovers. With
    /// `imbalancePercentage`, only for brokers that lead fewer than that share of the partitions they are
    /// preferred for (Kafka's `leader.imbalance.per.broker.percentage` check).
    public static func preferredLeaders(image: MetadataImage, imbalancePercentage: Int? = nil) -> [any KafkaMetadataRecord] {
        var records: [any KafkaMetadataRecord] = []
        let live = image.liveBrokerIds
        let imbalanced = imbalancePercentage.map { percentage in imbalancedBrokers(image, above: percentage) }
        for topic in image.sortedTopics {
            for index in topic.partitions.keys.sorted() {
                let partition = topic.partitions[index]!
                guard let preferred = partition.replicas.first, partition.leader != preferred,
                      imbalanced?.contains(preferred) ?? true,
                      partition.isr.contains(preferred), live.contains(preferred) else { continue }
                var change = PartitionChangeRecord()
                change.topicId = topic.id
                change.partitionId = index
                change.leader = preferred
                records.append(change)
            }
        }
        return records
    }

    /// Brokers whose share of partitions they are preferred for but do not lead is above `percentage`.
    static func imbalancedBrokers(_ image: MetadataImage, above percentage: Int) -> Set<Int32> {
        var preferredFor: [Int32: Int] = [:]
        var notLeading: [Int32: Int] = [:]
        for topic in image.sortedTopics {
            for partition in topic.partitions.values {
                guard let preferred = partition.replicas.first else { continue }
                preferredFor[preferred, default: 0] += 1
                if partition.leader != preferred { notLeading[preferred, default: 0] += 1 }
            }
        }
        return Set(preferredFor.compactMap { broker, total in
            notLeading[broker, default: 0] * 100 > percentage * total ? broker : nil
        })
    }
}
