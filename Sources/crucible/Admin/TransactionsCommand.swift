import ArgumentParser
import CrucibleClient
import Foundation

/// `kafka-transactions.sh --list` and `--describe --transactional-id T`: Kafka's columns, padded as its
/// `prettyPrintTable` does (each value left-aligned to its column's widest, tab-separated).
struct TransactionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transactions", abstract: "List and describe transactions (as kafka-transactions.sh).")

    @OptionGroup var server: BootstrapServer
    @Flag(name: .long, help: "List every transactional id with its coordinator, producer id and state.") var list = false
    @Flag(name: .long, help: "Describe one transactional id (with --transactional-id).") var describe = false
    @Option(name: .long, help: "The transactional id to describe.") var transactionalId: String?

    func validate() throws {
        guard list != describe else { throw ValidationError("exactly one of --list and --describe is required") }
        if describe && transactionalId == nil { throw ValidationError("--describe needs --transactional-id") }
        if list && transactionalId != nil { throw ValidationError("--transactional-id goes with --describe") }
    }

    func run() throws {
        let client = try server.connect(clientId: "crucible-transactions")
        defer { client.close() }
        do {
            if list {
                print(Self.table(["TransactionalId", "Coordinator", "ProducerId", "TransactionState"],
                                 try client.listTransactions().map {
                                     [$0.transactionalId, String($0.coordinator), String($0.producerId), $0.state]
                                 }), terminator: "")
            } else {
                print(Self.table(Self.describeHeaders, [Self.describeRow(try client.describeTransaction(transactionalId!),
                                                                         nowMs: Int64(Date().timeIntervalSince1970 * 1_000))]),
                      terminator: "")
            }
        } catch let error as KafkaClientError {
            Tool.fail("Error: \(error)")
        }
    }

    static let describeHeaders = ["CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState",
                                  "TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions"]

    static func describeRow(_ described: TransactionDescription, nowMs: Int64) -> [String] {
        let started = described.startTimeMs >= 0
        return [String(described.coordinator), described.transactionalId, String(described.producerId),
                String(described.producerEpoch), described.state, String(described.timeoutMs),
                started ? String(described.startTimeMs) : "None", started ? String(max(0, nowMs - described.startTimeMs)) : "None",
                described.partitions.map { "\($0.topic)-\($0.partition)" }.joined(separator: ",")]
    }

    static func table(_ headers: [String], _ rows: [[String]]) -> String {
        let widths = headers.indices.map { column in ([headers] + rows).map { $0[column].count }.max() ?? 0 }
        return ([headers] + rows).map { row in
            row.enumerated().map { column, value in
                column == row.count - 1 ? value : value + String(repeating: " ", count: widths[column] - value.count)
            }.joined(separator: "\t")
        }.map { $0 + "\n" }.joined()
    }
}
