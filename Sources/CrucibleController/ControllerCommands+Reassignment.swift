import CrucibleProtocol

/// Partition reassignment as KIP-455 and Kafka's controller do it: the replica set first grows to hold both the
/// old and the new replicas (new ones listed first), the new ones fetch and join the ISR, and once every target
/// replica is in sync the set shrinks to the target, leadership moving off a replica that leaves. A
/// cancellation returns to the replicas from before.
extension ControllerCommands {
    public static func alterReassignments(_ requests: [ReassignmentRequest],
                                          image: MetadataImage) -> ([any KafkaMetadataRecord], [PartitionOutcome]) {
        var records: [any KafkaMetadataRecord] = []
        var outcomes: [PartitionOutcome] = []
        var touched = Set<String>()
        for request in requests {
            var outcome = PartitionOutcome(topic: request.topic, partition: request.partition, error: .none)
            guard let topic = image.topic(named: request.topic), let partition = topic.partitions[request.partition] else {
                outcome.error = .unknownTopicOrPartition
                outcome.message = "The partition does not exist."
                outcomes.append(outcome)
                continue
            }
            guard touched.insert("\(request.topic)-\(request.partition)").inserted else {
                outcome.error = .invalidRequest
                outcome.message = "The partition was named more than once."
                outcomes.append(outcome)
                continue
            }
            let result = request.replicas.map { reassign(partition, to: $0, image: image) } ?? cancel(partition, image: image)
            switch result {
            case .success(var change):
                change.topicId = topic.id
                change.partitionId = request.partition
                records.append(change)
            case .failure(let failure):
                (outcome.error, outcome.message) = (failure.code, failure.message)
            }
            outcomes.append(outcome)
        }
        return (records, outcomes)
    }

    static func reassign(_ partition: PartitionImage, to target: [Int32],
                         image: MetadataImage) -> Result<PartitionChangeRecord, ElectionFailure> {
        if let problem = assignmentProblem(target, image: image) {
            return .failure(ElectionFailure(code: .invalidReplicaAssignment, message: problem))
        }
        let adding = target.filter { !partition.replicas.contains($0) }
        let removing = partition.replicas.filter { !target.contains($0) }
        var change = PartitionChangeRecord()
        if adding.isEmpty {
            // Every target replica already holds the partition: finish at once.
            return finishing(partition, target: target).map { change = $0; return change }
        }
        change.replicas = target + removing
        change.addingReplicas = adding
        change.removingReplicas = removing
        return .success(change)
    }

    static func cancel(_ partition: PartitionImage, image: MetadataImage) -> Result<PartitionChangeRecord, ElectionFailure> {
        guard partition.isReassigning else {
            return .failure(ElectionFailure(code: .noReassignmentInProgress, message: "No reassignment is in progress for this partition."))
        }
        return finishing(partition, target: partition.originalReplicas)
    }

    /// The change that leaves `partition` on `target`: the ISR keeps its members among them, and a leader
    /// that leaves hands over to the first target replica in sync. Refused when none of the target is in sync:
    /// that would be an unclean election.
    static func finishing(_ partition: PartitionImage, target: [Int32]) -> Result<PartitionChangeRecord, ElectionFailure> {
        let isr = partition.isr.filter { target.contains($0) }
        guard !isr.isEmpty else {
            return .failure(ElectionFailure(code: .invalidReplicaAssignment,
                                            message: "Unable to move the partition to \(target): none of them is in sync, which would need an unclean leader election."))
        }
        var change = PartitionChangeRecord()
        change.replicas = target
        change.isr = isr
        change.addingReplicas = []
        change.removingReplicas = []
        if !target.contains(partition.leader) || !isr.contains(partition.leader) {
            change.leader = target.first { isr.contains($0) }!
        }
        return .success(change)
    }

    /// Called with every ISR change: once the ISR holds every replica a reassignment adds, the change also
    /// completes it.
    static func completingReassignment(_ change: PartitionChangeRecord, partition: PartitionImage) -> PartitionChangeRecord {
        guard partition.isReassigning, let isr = change.isr,
              partition.addingReplicas.allSatisfy(isr.contains) else { return change }
        var shrunk = partition
        shrunk.isr = isr
        guard case .success(var finished) = finishing(shrunk, target: partition.targetReplicas) else { return change }
        finished.topicId = change.topicId
        finished.partitionId = change.partitionId
        return finished
    }

    /// ListPartitionReassignments: the partitions with a reassignment in progress, optionally only `wanted`.
    public static func reassignments(in image: MetadataImage,
                                     wanted: [(topic: String, partition: Int32)]?) -> [(topic: String, partition: PartitionImage)] {
        let candidates = wanted ?? image.sortedTopics.flatMap { topic in
            topic.partitions.keys.sorted().map { (topic: topic.name, partition: $0) }
        }
        return candidates.compactMap { name, index in
            guard let partition = image.topic(named: name)?.partitions[index], partition.isReassigning else { return nil }
            return (name, partition)
        }
    }
}
