import ArgumentParser
import CrucibleClient
import Foundation

/// The console consumer's life in a group: join, start each assigned partition at its committed offset (or per
/// auto.offset.reset), commit what was printed every `auto.commit.interval.ms` unless enable.auto.commit=false,
/// commit and rejoin when the group rebalances, and commit and leave at the end.
final class ConsumerGroupSession {
    let member: GroupMember
    let client: KafkaClient
    let reset: OffsetSpec
    let autoCommit: Bool
    let autoCommitIntervalMs: Int
    private var lastCommitAt = ContinuousClock.now
    private var lastMetadataCheckAt = ContinuousClock.now
    /// What the group last heard from us, to skip commits that would change nothing.
    private var committed: [TopicPartition: Int64] = [:]

    init(client: KafkaClient, group: String, topic: String, reset: OffsetSpec, properties: [String: String]) throws {
        func int(_ key: String, _ fallback: Int) throws -> Int {
            guard let text = properties[key] else { return fallback }
            guard let value = Int(text), value > 0 else {
                throw UsageError("--consumer-property \(key)=\(text): expected a positive number of ms")
            }
            return value
        }
        var config = GroupMember.Config()
        config.sessionTimeoutMs = Int32(clamping: try int("session.timeout.ms", 45_000))
        config.heartbeatIntervalMs = Int64(try int("heartbeat.interval.ms", 3_000))
        config.rebalanceTimeoutMs = Int32(clamping: try int("max.poll.interval.ms", 300_000))
        config.groupInstanceId = properties["group.instance.id"]
        guard config.heartbeatIntervalMs < Int64(config.sessionTimeoutMs) else {
            throw UsageError("--consumer-property heartbeat.interval.ms: must be lower than session.timeout.ms")
        }
        self.client = client
        self.reset = reset
        autoCommit = try Tool.bool(properties, "enable.auto.commit", default: true, flag: "--consumer-property")
        autoCommitIntervalMs = try int("auto.commit.interval.ms", 5_000)
        member = GroupMember(client: client, group: group, topics: [topic], config: config)
    }

    /// Joins and returns where to start reading each assigned partition.
    func start() throws -> [TopicPartition: Int64] {
        try client.refreshMetadata(topics: member.topics)
        return try positions(for: try member.join())
    }

    private func positions(for assignment: [TopicPartition]) throws -> [TopicPartition: Int64] {
        let found = try member.committed(assignment)
        committed = found
        let missing = assignment.filter { found[$0] == nil }
        let reset = missing.isEmpty ? [:] : try client.listOffsets(missing, self.reset)
        return found.merging(reset) { committed, _ in committed }
    }

    /// Between fetches: rejoin after a rebalance (committing first), or commit when the interval is up. Every
    /// few seconds the leader looks for new partitions (or the topic appearing), which need a new assignment.
    func maintain(_ positions: inout [TopicPartition: Int64]) throws {
        if Tool.elapsedMs(since: lastMetadataCheckAt) >= 5_000 {
            lastMetadataCheckAt = .now
            try member.checkAssignedMetadata()
        }
        if member.needsRejoin {
            if autoCommit { commitQuietly(positions) }
            positions = try self.positions(for: try member.join())
        } else if autoCommit && Tool.elapsedMs(since: lastCommitAt) >= autoCommitIntervalMs {
            commitQuietly(positions)
        }
    }

    /// A failed commit is not fatal: the member learns from it that it must rejoin, and the next commit or the
    /// final one carries the positions again.
    private func commitQuietly(_ positions: [TopicPartition: Int64]) {
        lastCommitAt = .now
        let changed = positions.filter { committed[$0.key] != $0.value }
        guard !changed.isEmpty else { return }
        do {
            try member.commit(changed)
            committed.merge(changed) { $1 }
        } catch {
            Tool.printError("WARN committing offsets of group \(member.group) failed: \(error)")
        }
    }

    /// At exit: commit what was printed (when auto-committing) and leave, so the group rebalances at once. A
    /// rebalance under way does not stop the commit: the coordinator takes it while the generation is current.
    func close(_ positions: [TopicPartition: Int64]) {
        if autoCommit { commitQuietly(positions) }
        member.leave()
    }
}
