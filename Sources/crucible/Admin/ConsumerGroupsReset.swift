import CrucibleClient
import CrucibleProtocol

extension GroupsTool {
    /// `--reset-offsets`: for each inactive group (Empty, or Dead: not yet existing) the plan, committed with
    /// `execute`; an active group is refused with Kafka's message and gets no rows.
    func resetOffsets(_ groups: [String], scope: ResetScope, spec: OffsetResetSpec, execute: Bool) throws -> Bool {
        var plans: [(group: String, offsets: [TopicPartition: Int64])] = []
        var succeeded = true
        for group in groups {
            let state = try client.describeGroup(group).state
            guard state == "Empty" || state == "Dead" else {
                printError("Assignments can only be reset if the group '\(group)' is inactive, but the current state is \(state).")
                plans.append((group, [:]))
                succeeded = false
                continue
            }
            let partitions = try partitionsToReset(group: group, scope: scope)
            let plan = try OffsetResetPlan.compute(spec, partitions: partitions,
                                                   offsets: try offsetsForPlan(group: group, partitions, spec),
                                                   warn: note)
            if execute {
                let failed = try client.commitOffsets(group: group, plan).filter { $0.value != .none }
                for (partition, code) in failed.sorted(by: { $0.key < $1.key }) {
                    printError("committing offset of \(partition) for group '\(group)': \(KafkaErrorText.describe(code))")
                }
                succeeded = succeeded && failed.isEmpty
            }
            plans.append((group, plan))
        }
        if json {
            print(ConsumerGroupsJSON.text(ConsumerGroupsJSON.resetPlan(plans)))
        } else {
            print(ConsumerGroupsOutput.resetPlan(plans), terminator: "")
        }
        return succeeded
    }

    private func partitionsToReset(group: String, scope: ResetScope) throws -> [TopicPartition] {
        switch scope {
        case .allTopics:
            return try client.committedOffsets(group: group).keys.sorted()
        case .topics(let named):
            let whole = named.filter { $0.partitions == nil }.map(\.topic)
            let metadata = whole.isEmpty ? nil : try client.refreshMetadata(topics: whole)
            return try named.flatMap { topic, listed -> [TopicPartition] in
                if let listed { return listed.map { TopicPartition(topic, $0) } }
                guard let described = metadata?.topics[topic], described.error == .none else {
                    throw KafkaClientError.kafka(metadata?.topics[topic]?.error ?? .unknownTopicOrPartition,
                                                 message: "topic \(topic)")
                }
                return described.partitions.map { TopicPartition(topic, $0.partition) }
            }
        }
    }

    /// Log start and end always (for clamping); the committed offsets for a shift; the offsets by time.
    private func offsetsForPlan(group: String, _ partitions: [TopicPartition],
                                _ spec: OffsetResetSpec) throws -> PartitionOffsets {
        guard !partitions.isEmpty else { return PartitionOffsets(logStart: [:], logEnd: [:]) }
        var offsets = PartitionOffsets(logStart: try client.listOffsets(partitions, .earliest),
                                       logEnd: try client.listOffsets(partitions, .latest))
        if spec.needsCommitted {
            offsets.committed = try client.committedOffsets(group: group, partitions: partitions).mapValues(\.offset)
        }
        if let ms = spec.timestampMs { offsets.byTimestamp = try client.listOffsets(partitions, .timestamp(ms)) }
        return offsets
    }
}

/// Kafka's text for the group errors its tools print (`Errors.message()`), after Kafka's name for the code.
enum KafkaErrorText {
    static let messages: [ErrorCode: String] = [
        .nonEmptyGroup: "The group is not empty.",
        .groupIdNotFound: "The group id does not exist.",
        .invalidGroupId: "The configured groupId is invalid.",
        .groupAuthorizationFailed: "Group authorization failed.",
        .groupSubscribedToTopic: "Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it.",
        .unknownTopicOrPartition: "This server does not host this topic-partition.",
        .coordinatorNotAvailable: "The coordinator is not available.",
        .unknownMemberId: "The coordinator is not aware of this member.",
        .illegalGeneration: "Specified group generation id is not valid.",
        .rebalanceInProgress: "The group is rebalancing, so a rejoin is needed.",
    ]

    static func describe(_ code: ErrorCode) -> String {
        messages[code].map { "\(code.name): \($0)" } ?? code.name
    }
}
