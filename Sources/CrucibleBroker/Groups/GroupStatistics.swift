import CrucibleGroups
import NIOConcurrencyHelpers

/// What `/metrics` tells of the groups this node coordinates: counts by state (Kafka's GroupMetadataManager
/// gauges) and every committed offset, for the lag kafka_exporter reports. Taken on the coordinator's loop, which
/// alone may touch the shards, and read by scrapes on other threads.
struct GroupStatistics: Sendable, Equatable {
    struct Committed: Sendable, Equatable {
        var group: String
        var topic: String
        var partition: Int32
        var offset: Int64
    }

    var groupsByState: [GroupState: Int] = [:]
    var members: [String: Int] = [:]
    var committed: [Committed] = []

    var groups: Int { groupsByState.values.reduce(0, +) }

    init() {}

    init(_ shards: [GroupShard]) {
        for shard in shards {
            for (id, group) in shard.groups {
                groupsByState[group.state, default: 0] += 1
                members[id] = group.members.count
                for (key, value) in group.offsets {
                    committed.append(Committed(group: id, topic: key.topic, partition: key.partition, offset: value.offset))
                }
            }
        }
    }
}

extension GroupCoordinator {
    /// How often the statistics are taken again: a scrape reads figures at most this old.
    static let statisticsIntervalMs: Int64 = 1_000
}
