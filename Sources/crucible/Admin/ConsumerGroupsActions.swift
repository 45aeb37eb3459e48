import CrucibleClient
import CrucibleGroups
import CrucibleProtocol
import Foundation

enum DescribeMode: Equatable {
    case offsets
    case members(verbose: Bool)
    case state
}

enum ResetScope {
    case allTopics
    /// Topics with every partition (nil) or the partitions named.
    case topics([(topic: String, partitions: [Int32]?)])
}

/// What `consumer-groups` does against the cluster, printing as kafka-consumer-groups.sh prints: tables and
/// `Error:` lines on stdout, notes about group states on stderr. Each action answers whether it succeeded.
struct GroupsTool {
    let client: KafkaClient
    /// Print one JSON document instead of tables; Kafka's error and warning lines then go to stderr.
    var json = false

    func printError(_ message: String) { note("\nError: \(message)") }

    /// A line Kafka prints among its tables (stdout), kept off stdout when that carries JSON.
    func note(_ line: String) {
        if json { Tool.printError(line) } else { print(line) }
    }

    func list(showStates: Bool, filter: [String]) throws -> Bool {
        let groups = try client.listGroups(states: filter)
        if json {
            print(ConsumerGroupsJSON.text(ConsumerGroupsJSON.listing(groups)))
            return true
        }
        guard showStates else {
            groups.forEach { print($0.groupId) }
            return true
        }
        let width = groups.map { max(15, $0.groupId.count) }.max().map { $0 + 10 } ?? 25
        print(ConsumerGroupsOutput.pad("GROUP", width) + " " + ConsumerGroupsOutput.pad("STATE", 20))
        for group in groups {
            print(ConsumerGroupsOutput.pad(group.groupId, width) + " "
                  + ConsumerGroupsOutput.pad(group.state.isEmpty ? "Unknown" : group.state, 20))
        }
        return true
    }

    func describe(_ groups: [String], mode: DescribeMode) throws -> Bool {
        var succeeded = true
        var documents: [[String: Any]] = []
        for group in groups.sorted() {
            let description = try client.describeGroup(group)
            let exists = noteState(of: description)
            succeeded = succeeded && exists
            switch mode {
            case .offsets:
                let rows = try offsetRows(description)
                if json {
                    documents.append(ConsumerGroupsJSON.offsets(description, rows))
                } else if exists && !rows.isEmpty {
                    print(ConsumerGroupsOutput.offsets(rows), terminator: "")
                }
            case .members(let verbose):
                if json {
                    documents.append(ConsumerGroupsJSON.members(description, memberRows(description)))
                } else {
                    // Kafka prints the members' header even for a group it just reported missing or empty.
                    print(ConsumerGroupsOutput.members(memberRows(description), verbose: verbose), terminator: "")
                }
            case .state:
                let row = GroupStateRow(group: group, coordinator: description.coordinator,
                                        assignmentStrategy: description.protocolName, state: description.state,
                                        members: description.members.count)
                if json {
                    documents.append(ConsumerGroupsJSON.state(row))
                } else if exists {
                    print(ConsumerGroupsOutput.state(row), terminator: "")
                }
            }
        }
        if json { print(ConsumerGroupsJSON.text(["groups": documents])) }
        return succeeded
    }

    /// Kafka's notes before a description: a missing (Dead) group is an error, an empty or rebalancing one a
    /// remark on stderr. False when the group does not exist.
    private func noteState(of description: GroupDescription) -> Bool {
        let group = description.groupId
        switch description.state {
        case "Dead":
            printError("Consumer group '\(group)' does not exist.")
            return false
        case "Empty":
            Tool.printError("\nConsumer group '\(group)' has no active members.")
        case "PreparingRebalance", "CompletingRebalance", "Assigning", "Reconciling":
            Tool.printError("\nWarning: Consumer group '\(group)' is rebalancing.")
        default:
            break
        }
        return true
    }

    /// A member's partitions, decoded only for the consumer protocol (as Kafka's admin client does).
    private func assignment(_ member: GroupMemberDescription, in description: GroupDescription) -> [TopicPartition] {
        guard description.protocolType == "consumer",
              let decoded = try? ConsumerProtocol.Assignment.decode(member.assignment) else { return [] }
        return decoded.partitions.flatMap { entry in entry.partitions.map { TopicPartition(entry.topic, $0) } }.sorted()
    }

    private func memberRows(_ description: GroupDescription) -> [MemberRow] {
        description.members.map {
            MemberRow(group: description.groupId, consumerId: $0.memberId, groupInstanceId: $0.groupInstanceId ?? "",
                      host: $0.clientHost, clientId: $0.clientId, assignment: assignment($0, in: description))
        }
    }

    /// Kafka's rows: members with partitions (most partitions first), then committed partitions no member owns.
    func offsetRows(_ description: GroupDescription) throws -> [PartitionOffsetRow] {
        let group = description.groupId
        let committed = try client.committedOffsets(group: group)
        var rows: [PartitionOffsetRow] = []
        let owners = description.members.map { ($0, assignment($0, in: description)) }.filter { !$0.1.isEmpty }
        for (member, partitions) in owners.sorted(by: { $0.1.count > $1.1.count }) {
            rows += partitions.map {
                PartitionOffsetRow(group: group, topic: $0.topic, partition: $0.partition,
                                   currentOffset: committed[$0]?.offset, consumerId: member.memberId,
                                   host: member.clientHost, clientId: member.clientId)
            }
        }
        let owned = Set(owners.flatMap(\.1))
        rows += committed.keys.filter { !owned.contains($0) }.sorted().map {
            PartitionOffsetRow(group: group, topic: $0.topic, partition: $0.partition, currentOffset: committed[$0]?.offset)
        }
        let ends = logOffsets(rows.map { TopicPartition($0.topic, $0.partition) }, .latest)
        for index in rows.indices {
            rows[index].logEndOffset = ends[TopicPartition(rows[index].topic, rows[index].partition)]
        }
        return rows
    }

    /// ListOffsets for `partitions`; a partition whose offset cannot be had (a deleted topic) is left out, so it
    /// prints as "-".
    private func logOffsets(_ partitions: [TopicPartition], _ spec: OffsetSpec) -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        if let all = try? client.listOffsets(partitions, spec) { return all }
        var found: [TopicPartition: Int64] = [:]
        for partition in partitions {
            if let one = try? client.listOffsets([partition], spec, attempts: 1) { found.merge(one) { $1 } }
        }
        return found
    }

    func delete(_ groups: [String]) throws -> Bool {
        let results = try client.deleteGroups(groups)
        let failed = groups.filter { results[$0] != ErrorCode.none }
        let deleted = groups.filter { results[$0] == ErrorCode.none }
        guard !failed.isEmpty else {
            print("Deletion of requested consumer groups ('\(deleted.joined(separator: "', '"))') was successful.")
            return true
        }
        printError("Deletion of some consumer groups failed:")
        for group in failed {
            print("* Group '\(group)' could not be deleted due to: \(KafkaErrorText.describe(results[group] ?? .unknownServerError))")
        }
        if !deleted.isEmpty {
            print("\nThese consumer groups were deleted successfully: '\(deleted.joined(separator: "', '"))'")
        }
        return false
    }

    func deleteOffsets(group: String, topics: [String]) throws -> Bool {
        var partitions: [TopicPartition] = []
        var results: [(TopicPartition, String?)] = []
        let named = try topics.map(ConsumerGroupsCommand.parseTopicPartitions)
        let whole = named.filter { $0.partitions == nil }.map(\.topic)
        let metadata = whole.isEmpty ? nil : try client.refreshMetadata(topics: whole)
        for (topic, listed) in named {
            if let listed {
                partitions += listed.map { TopicPartition(topic, $0) }
            } else if let described = metadata?.topics[topic], described.error == .none {
                partitions += described.partitions.map { TopicPartition(topic, $0.partition) }
            } else {
                results.append((TopicPartition(topic, -1), KafkaErrorText.describe(.unknownTopicOrPartition)))
            }
        }
        var outcome = (error: ErrorCode.none, partitions: [TopicPartition: ErrorCode]())
        if !partitions.isEmpty { outcome = try client.deleteOffsets(group: group, partitions) }
        for partition in partitions {
            let code = outcome.partitions[partition] ?? outcome.error
            results.append((partition, code == .none ? nil : KafkaErrorText.describe(code)))
        }
        // Kafka's admin client fails the whole call with the first partition's error.
        let firstPartitionError = partitions.sorted().compactMap { outcome.partitions[$0] }.first { $0 != .none }
        let overall = outcome.error != .none ? outcome.error
            : firstPartitionError ?? (results.contains { $0.1 != nil } ? .unknownTopicOrPartition : .none)
        switch overall {
        case .none: print("Request succeed for deleting offsets with topic \(topics.joined(separator: ", ")) group \(group)")
        case .invalidGroupId: printError("'\(group)' is not valid.")
        case .groupIdNotFound: printError("'\(group)' does not exist.")
        case .groupAuthorizationFailed: printError("Access to '\(group)' is not authorized.")
        case .nonEmptyGroup: printError("Deleting offsets of a consumer group '\(group)' is forbidden if the group is not empty.")
        case .groupSubscribedToTopic, .topicAuthorizationFailed, .unknownTopicOrPartition:
            printError("Encounter some partition level error, see the follow-up details:")
        default: printError("Encounter some unknown error: \(overall.name)")
        }
        print(ConsumerGroupsOutput.deletedOffsets(results), terminator: "")
        return overall == .none
    }
}
