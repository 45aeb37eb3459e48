import CrucibleClient

/// One row of `--describe` (offsets): a partition with its committed offset, log end and owner. Missing values
/// print as Kafka's "-".
struct PartitionOffsetRow: Equatable {
    var group: String
    var topic: String
    var partition: Int32
    var currentOffset: Int64?
    var logEndOffset: Int64?
    var consumerId: String?
    var host: String?
    var clientId: String?

    /// LOG-END-OFFSET minus CURRENT-OFFSET, when both are known.
    var lag: Int64? {
        guard let currentOffset, let logEndOffset else { return nil }
        return logEndOffset - currentOffset
    }
}

struct MemberRow: Equatable {
    var group: String
    var consumerId: String
    var groupInstanceId: String
    var host: String
    var clientId: String
    var assignment: [TopicPartition]
}

struct GroupStateRow: Equatable {
    var group: String
    var coordinator: BrokerAddress
    var assignmentStrategy: String
    var state: String
    var members: Int
}

/// kafka-consumer-groups.sh's tables: Java `%-Ns` columns (left-aligned, padded to at least N, never cut), each
/// line written as `printf("\n" + format)` and the table closed by a newline, so a table opens with a blank line.
enum ConsumerGroupsOutput {
    static let missing = "-"

    /// Left-aligns `text` in `width` characters, as Java's `%-Ns`.
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private static func line(_ cells: [(String, Int)], last: String) -> String {
        cells.map { pad($0.0, $0.1) + " " }.joined() + last
    }

    static func offsets(_ rows: [PartitionOffsetRow]) -> String {
        let groupWidth = rows.map(\.group.count).reduce(15, max)
        let topicWidth = rows.map(\.topic.count).reduce(15, max)
        let consumerWidth = rows.map { ($0.consumerId ?? missing).count }.reduce(15, max)
        let hostWidth = rows.map { ($0.host ?? missing).count }.reduce(15, max)
        func row(_ cells: [String]) -> String {
            "\n" + line(zip(cells, [groupWidth, topicWidth, 10, 15, 15, 15, consumerWidth, hostWidth]).map { ($0, $1) },
                        last: cells[8])
        }
        var out = row(["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST",
                       "CLIENT-ID"])
        for r in rows {
            out += row([r.group, r.topic, String(r.partition), r.currentOffset.map(String.init) ?? missing,
                        r.logEndOffset.map(String.init) ?? missing, r.lag.map(String.init) ?? missing,
                        r.consumerId ?? missing, r.host ?? missing, r.clientId ?? missing])
        }
        return out + "\n"
    }

    /// `--members` (with `--verbose`, each member's partitions as `topic(0,1)`); GROUP-INSTANCE-ID only when some
    /// member has one. Every line ends in a space, as Kafka's format does.
    static func members(_ rows: [MemberRow], verbose: Bool) -> String {
        let withInstance = rows.contains { !$0.groupInstanceId.isEmpty }
        let widths = (group: rows.map(\.group.count).reduce(15, max), consumer: rows.map(\.consumerId.count).reduce(15, max),
                      instance: rows.map(\.groupInstanceId.count).reduce(17, max), host: rows.map(\.host.count).reduce(15, max),
                      client: rows.map(\.clientId.count).reduce(15, max))
        func row(_ group: String, _ consumer: String, _ instance: String, _ host: String, _ client: String,
                 _ partitions: String) -> String {
            var cells = [(group, widths.group), (consumer, widths.consumer)]
            if withInstance { cells.append((instance, widths.instance)) }
            cells += [(host, widths.host), (client, widths.client), (partitions, 15)]
            return line(cells, last: "")
        }
        var out = "\n" + row("GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS")
            + (verbose ? "ASSIGNMENT" : "") + "\n"
        for r in rows {
            out += row(r.group, r.consumerId, r.groupInstanceId, r.host, r.clientId, String(r.assignment.count))
            if verbose { out += assignmentText(r.assignment) }
            out += "\n"
        }
        return out
    }

    /// `topic1(0,1), topic2(2)`, or "-" for none.
    static func assignmentText(_ partitions: [TopicPartition]) -> String {
        guard !partitions.isEmpty else { return missing }
        return Dictionary(grouping: partitions, by: \.topic).map { topic, owned in
            topic + "(" + owned.map { String($0.partition) }.sorted().joined(separator: ",") + ")"
        }.sorted().joined(separator: ", ")
    }

    /// `--state`: the GROUP column is as wide as the coordinator's (Kafka's format reuses that width).
    static func state(_ row: GroupStateRow) -> String {
        let coordinator = "\(row.coordinator.host):\(row.coordinator.port)  (\(row.coordinator.nodeId))"
        let width = max(25, coordinator.count)
        func cells(_ values: [String]) -> String {
            "\n" + line(zip(values, [width, 25, 20, 15]).map { ($0, $1) }, last: values[4])
        }
        return cells(["GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"])
            + cells([row.group, coordinator, row.assignmentStrategy, row.state, String(row.members)]) + "\n"
    }

    /// The plan `--reset-offsets` prints (after `--dry-run` or `--execute`); the header only when some group
    /// was planned (a refused group still counts, with no rows).
    static func resetPlan(_ plans: [(group: String, offsets: [TopicPartition: Int64])]) -> String {
        func row(_ values: [String]) -> String {
            "\n" + line([(values[0], 30), (values[1], 30), (values[2], 10)], last: pad(values[3], 15))
        }
        var out = plans.isEmpty ? "" : row(["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"])
        for (group, offsets) in plans {
            for (partition, offset) in offsets.sorted(by: { $0.key < $1.key }) {
                out += row([group, partition.topic, String(partition.partition), String(offset)])
            }
        }
        return out + "\n"
    }

    /// `--delete-offsets`: one row per partition, "Successful" or Kafka's "Error: :" and the reason.
    static func deletedOffsets(_ results: [(TopicPartition, String?)]) -> String {
        func row(_ values: [String]) -> String {
            "\n" + line([(values[0], 30), (values[1], 15)], last: pad(values[2], 15))
        }
        var out = row(["TOPIC", "PARTITION", "STATUS"])
        for (partition, error) in results.sorted(by: { $0.0 < $1.0 }) {
            out += row([partition.topic, partition.partition >= 0 ? String(partition.partition) : "Not Provided",
                        error.map { "Error: :" + $0 } ?? "Successful"])
        }
        return out + "\n"
    }
}
