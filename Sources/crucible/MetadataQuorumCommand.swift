import ArgumentParser
import CrucibleClient
import Foundation

/// `kafka-metadata-quorum.sh`: the state of the metadata quorum, from its leader.
struct MetadataQuorumCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metadata-quorum", abstract: "Describe the metadata quorum (as kafka-metadata-quorum.sh).",
        subcommands: [Describe.self])

    // Kafka's syntax puts the server before the action: `metadata-quorum --bootstrap-server B describe --status`.
    @OptionGroup var server: BootstrapServer

    struct Describe: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Describe the quorum's status or replication.")

        @ParentCommand var parent: MetadataQuorumCommand
        @Flag(name: .long, help: "Leader, epoch, high watermark, lag and members.") var status = false
        @Flag(name: .long, help: "Each replica's log end offset, lag and fetch times.") var replication = false

        func run() throws {
            guard status != replication else { throw UsageError("exactly one of --status, --replication is required") }
            let client = try parent.server.connect(clientId: "crucible-metadata-quorum")
            defer { client.close() }
            let quorum: QuorumDescription
            do {
                quorum = try client.describeQuorum()
            } catch let error as KafkaClientError {
                Tool.fail("Error while describing the metadata quorum: \(error)")
            }
            if status { printStatus(quorum) } else { printReplication(quorum) }
        }

        private func printStatus(_ quorum: QuorumDescription) {
            let leader = (quorum.voters + quorum.observers).first { $0.id == quorum.leaderId }
            let others = (quorum.voters + quorum.observers).filter { $0.id != quorum.leaderId }
            let leaderEnd = leader?.logEndOffset ?? quorum.highWatermark
            let maxLag = others.map { $0.logEndOffset < 0 ? leaderEnd : leaderEnd - $0.logEndOffset }.max() ?? 0
            // Kafka: how far behind the leader the most lagging follower last caught up.
            let caughtUp = others.map(\.lastCaughtUpTimestamp)
            let lagTimeMs: Int64 = caughtUp.isEmpty || caughtUp.contains(-1) || leader == nil
                ? (others.isEmpty ? 0 : -1)
                : max(0, leader!.lastCaughtUpTimestamp - caughtUp.min()!)
            let rows: [(String, String)] = [
                ("ClusterId:", quorum.clusterId ?? ""),
                ("LeaderId:", String(quorum.leaderId)),
                ("LeaderEpoch:", String(quorum.leaderEpoch)),
                ("HighWatermark:", String(quorum.highWatermark)),
                ("MaxFollowerLag:", String(maxLag)),
                ("MaxFollowerLagTimeMs:", String(lagTimeMs)),
                ("CurrentVoters:", "[" + quorum.voters.map { String($0.id) }.joined(separator: ",") + "]"),
                ("CurrentObservers:", "[" + quorum.observers.map { String($0.id) }.joined(separator: ",") + "]"),
            ]
            for (label, value) in rows { print(label.padding(toLength: 24, withPad: " ", startingAt: 0) + value) }
        }

        private func printReplication(_ quorum: QuorumDescription) {
            let leaderEnd = quorum.voters.first { $0.id == quorum.leaderId }?.logEndOffset ?? quorum.highWatermark
            print(["NodeId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"]
                .joined(separator: "\t"))
            let ordered = quorum.voters.filter { $0.id == quorum.leaderId }
                + quorum.voters.filter { $0.id != quorum.leaderId } + quorum.observers
            for replica in ordered {
                let role = replica.id == quorum.leaderId ? "Leader"
                    : quorum.voters.contains { $0.id == replica.id } ? "Follower" : "Observer"
                let lag = replica.logEndOffset < 0 ? leaderEnd : leaderEnd - replica.logEndOffset
                print(["\(replica.id)", "\(replica.logEndOffset)", "\(lag)", "\(replica.lastFetchTimestamp)",
                       "\(replica.lastCaughtUpTimestamp)", role].joined(separator: "\t"))
            }
        }
    }
}
