import ArgumentParser
import CrucibleClient

/// `kafka-delete-records.sh`: moves partitions' log start offsets forward, as given in a JSON file.
struct DeleteRecordsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete-records", abstract: "Delete records before given offsets (as kafka-delete-records.sh).")

    @OptionGroup var server: BootstrapServer
    @Option(name: .long, help: "JSON: {\"partitions\":[{\"topic\":T,\"partition\":P,\"offset\":O}],\"version\":1}; offset -1 is the high watermark.")
    var offsetJsonFile: String

    func run() throws {
        let file = try AdminJSONFile(flag: "--offset-json-file", path: offsetJsonFile)
        var offsets: [TopicPartition: Int64] = [:]
        for (partition, entry) in try file.partitions() { offsets[partition] = try file.int(entry, "offset") }
        guard !offsets.isEmpty else { throw file.fail("names no partitions") }
        let client = try server.connect(clientId: "crucible-delete-records")
        defer { client.close() }
        print("Executing records delete operation")
        let results: [TopicPartition: Result<Int64, KafkaClientError>]
        do {
            results = try client.deleteRecords(before: offsets)
        } catch let error as KafkaClientError {
            Tool.fail("Error while deleting records: \(error)")
        }
        print("Records delete operation completed:")
        var failed = false
        for partition in offsets.keys.sorted() {
            switch results[partition] {
            case .success(let lowWatermark)?:
                print("partition: \(partition)\tlow_watermark: \(lowWatermark)")
            case .failure(let error)?:
                failed = true
                print("partition: \(partition)\terror: \(error)")
            case nil:
                failed = true
                print("partition: \(partition)\terror: no answer")
            }
        }
        if failed { throw ExitCode(1) }
    }
}
