import ArgumentParser
import Foundation

@main
struct Crucible {
    static func main() {
        do {
            var command = try Root.parseAsRoot(arguments.map { Array($0.dropFirst()) })
            try command.run()
        } catch let error as UsageError {
            FileHandle.standardError.write(Data("crucible: \(error.description)\n".utf8))
            exit(2)
        } catch let error as ClusterFailure {
            FileHandle.standardError.write(Data("crucible: \(error.description)\n".utf8))
            exit(1)
        } catch let error as ExitCode {
            exit(error.rawValue)
        } catch {
            // ArgumentParser's own errors: usage problems exit 2 with its message (help exits 0).
            let code = Root.exitCode(for: error)
            if code == .success {
                print(Root.fullMessage(for: error))
                exit(0)
            }
            FileHandle.standardError.write(Data("crucible: \(Root.message(for: error))\n".utf8))
            exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }

    /// The command line, read from the kernel when the runtime has none: with libfaketime preloaded (a node whose
    /// clock the nemesis moves) Swift's `CommandLine.arguments` comes back empty.
    private static var arguments: [String]? {
        guard CommandLine.arguments.isEmpty,
              let raw = FileManager.default.contents(atPath: "/proc/self/cmdline"), !raw.isEmpty else { return nil }
        return raw.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }
}

struct Root: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crucible",
        abstract: "A Kafka-compatible broker cluster and a benchmark and verification harness.",
        subcommands: [BrokerCommand.self, StorageCommand.self, ClusterCommand.self, CheckCommand.self, TopicsCommand.self, AclsCommand.self,
                      ConfigsCommand.self, ConsoleProducerCommand.self, ConsoleConsumerCommand.self,
                      DumpLogCommand.self, MetadataQuorumCommand.self, DeleteRecordsCommand.self, LogDirsCommand.self,
                      LeaderElectionCommand.self, ReassignPartitionsCommand.self, ApiConformanceCommand.self,
                      ConsumerGroupsCommand.self, TransactionsCommand.self, BenchCommand.self, VerifyCommand.self, ReportCommand.self, GateCommand.self])
}
