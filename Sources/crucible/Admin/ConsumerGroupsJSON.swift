import CrucibleClient
import Foundation

/// `consumer-groups --json`: the same facts as the tables, as one JSON document with sorted keys; unknown
/// values are null. Crucible's addition (Kafka's tool has no JSON output).
enum ConsumerGroupsJSON {
    static func text(_ object: Any) -> String {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    private static func value<T>(_ optional: T?) -> Any { optional.map { $0 as Any } ?? NSNull() }

    static func listing(_ groups: [GroupListing]) -> Any {
        groups.map { ["group": $0.groupId, "state": $0.state, "protocolType": $0.protocolType] }
    }

    static func offsets(_ description: GroupDescription, _ rows: [PartitionOffsetRow]) -> [String: Any] {
        ["group": description.groupId, "state": description.state,
         "partitions": rows.map { row -> [String: Any] in
             ["topic": row.topic, "partition": Int(row.partition), "currentOffset": value(row.currentOffset),
              "logEndOffset": value(row.logEndOffset), "lag": value(row.lag), "consumerId": value(row.consumerId),
              "host": value(row.host), "clientId": value(row.clientId)]
         }]
    }

    static func members(_ description: GroupDescription, _ rows: [MemberRow]) -> [String: Any] {
        ["group": description.groupId, "state": description.state,
         "members": rows.map { row -> [String: Any] in
             ["consumerId": row.consumerId, "groupInstanceId": row.groupInstanceId.isEmpty ? NSNull() : row.groupInstanceId,
              "host": row.host, "clientId": row.clientId,
              "assignment": row.assignment.map { ["topic": $0.topic, "partition": Int($0.partition)] as [String: Any] }]
         }]
    }

    static func state(_ row: GroupStateRow) -> [String: Any] {
        ["group": row.group, "state": row.state, "assignmentStrategy": row.assignmentStrategy, "members": row.members,
         "coordinator": ["id": Int(row.coordinator.nodeId), "host": row.coordinator.host, "port": row.coordinator.port]]
    }

    static func resetPlan(_ plans: [(group: String, offsets: [TopicPartition: Int64])]) -> Any {
        ["groups": plans.map { group, offsets -> [String: Any] in
            ["group": group, "partitions": offsets.sorted { $0.key < $1.key }.map {
                ["topic": $0.key.topic, "partition": Int($0.key.partition), "newOffset": $0.value] as [String: Any]
            }]
        }]
    }
}
