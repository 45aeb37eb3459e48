import ArgumentParser
import CrucibleClient
import Foundation

/// `kafka-consumer-groups.sh`: list, describe, delete consumer groups, reset and delete their offsets. Flags,
/// checks and output are Kafka's; bad combinations exit 2 naming the flag, and a refused or failed operation
/// (an unknown group, a group still active) exits 1 after Kafka's message.
struct ConsumerGroupsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consumer-groups", abstract: "List, describe, delete and reset consumer groups (as kafka-consumer-groups.sh).")

    @OptionGroup var server: BootstrapServer

    @Flag(name: .long, help: "List all consumer groups.") var list = false
    @Flag(name: .long, help: "Describe groups: offsets and lag (default), --members or --state.") var describe = false
    @Flag(name: .long, help: "Delete groups (they must have no active members).") var delete = false
    @Flag(name: .long, help: "Reset a group's offsets (the group must be inactive).") var resetOffsets = false
    @Flag(name: .long, help: "Delete a group's offsets of --topic.") var deleteOffsets = false

    @Option(name: .long, help: "The group to act on (repeatable).") var group: [String] = []
    @Flag(name: .long, help: "Act on every consumer group.") var allGroups = false
    @Option(name: .long, help: "A topic, or TOPIC:P,P for some partitions (repeatable).") var topic: [String] = []
    @Flag(name: .long, help: "With --reset-offsets: every topic the group has committed offsets for.") var allTopics = false

    @Flag(name: .long, help: "With --describe: the members.") var members = false
    @Flag(name: .long, help: "With --describe: offsets and lag (the default).") var offsets = false
    @Flag(name: .long, help: "With --describe: the group's state; with --list: show states (filter: STATE,STATE).")
    var state = false
    @Flag(name: .long, help: "With --describe --members: each member's partitions.") var verbose = false
    @Argument(help: "With --list --state: the states to list, comma-separated.") var stateFilter: [String] = []

    @Flag(name: .long, help: "Show the reset plan only (the default).") var dryRun = false
    @Flag(name: .long, help: "Commit the reset plan.") var execute = false
    @Flag(name: .long, help: "Reset to each partition's log start.") var toEarliest = false
    @Flag(name: .long, help: "Reset to each partition's log end.") var toLatest = false
    @Option(name: .long, parsing: .unconditional, help: "Reset to this offset.") var toOffset: Int64?
    @Option(name: .long, parsing: .unconditional, help: "Move the committed offsets by N (negative: back).") var shiftBy: Int64?
    @Option(name: .long, help: "Reset to the first offset at or after YYYY-MM-DDTHH:mm:SS.sss (UTC unless a zone is given).")
    var toDatetime: String?
    @Option(name: .long, help: "Reset to the first offset at or after now minus PnDTnHnMnS.") var byDuration: String?
    @Flag(name: .long, help: "With --list, --describe or --reset-offsets: print JSON instead of Kafka's tables.")
    var json = false

    func run() throws {
        try checkArguments()
        let spec = try resetSpec()
        let client = try server.connect(clientId: "crucible-consumer-groups")
        defer { client.close() }
        let groups = GroupsTool(client: client, json: json)
        let succeeded: Bool
        do {
            let targets = allGroups ? try client.listGroups().map(\.groupId) : group
            if list {
                succeeded = try groups.list(showStates: state, filter: try stateNames())
            } else if describe {
                succeeded = try groups.describe(targets, mode: members ? .members(verbose: verbose) : state ? .state : .offsets)
            } else if delete {
                succeeded = try groups.delete(targets)
            } else if deleteOffsets {
                succeeded = try groups.deleteOffsets(group: group[0], topics: topic)
            } else {
                if !dryRun && !execute {
                    Tool.printError("WARN: No action will be performed as the --execute option is missing. "
                                    + "Add --dry-run to keep this behaviour without the warning.")
                }
                let scope: ResetScope = allTopics ? .allTopics : .topics(try topic.map(Self.parseTopicPartitions))
                succeeded = try groups.resetOffsets(targets, scope: scope, spec: spec!, execute: execute)
            }
        } catch let error as OffsetResetError {
            Tool.fail("\nError: \(error.description)")
        } catch let error as KafkaClientError {
            Tool.fail("\nError: Executing consumer group command failed due to \(error)")
        }
        if !succeeded { throw ExitCode(1) }
    }

    /// Kafka's argument checks, each naming the flags at fault. (Not ArgumentParser's `validate`, whose errors
    /// would not exit 2.)
    func checkArguments() throws {
        let actions = [("--list", list), ("--describe", describe), ("--delete", delete), ("--reset-offsets", resetOffsets),
                       ("--delete-offsets", deleteOffsets)]
        guard actions.filter(\.1).count == 1 else {
            throw UsageError("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets")
        }
        if !group.isEmpty && allGroups { throw UsageError("--group cannot be used with --all-groups") }
        if list && (!group.isEmpty || allGroups) { throw UsageError("--group/--all-groups cannot be used with --list") }
        if !topic.isEmpty && !(resetOffsets || deleteOffsets || delete) {
            throw UsageError("--topic can only be used with --reset-offsets or --delete-offsets")
        }
        for (flag, given) in [("--members", members), ("--offsets", offsets), ("--verbose", verbose)] where given && !describe {
            throw UsageError("\(flag) can only be used with --describe")
        }
        if state && !(describe || list) { throw UsageError("--state can only be used with --describe or --list") }
        if json && (delete || deleteOffsets) { throw UsageError("--json can only be used with --list, --describe or --reset-offsets") }
        if !stateFilter.isEmpty && !(list && state) {
            throw UsageError("unexpected argument '\(stateFilter[0])' (only --list --state takes a value)")
        }
        if describe {
            if group.isEmpty && !allGroups { throw UsageError("--describe takes one of these options: --all-groups, --group") }
            if [members, offsets, state].filter({ $0 }).count > 1 {
                throw UsageError("--describe takes at most one of these options: --members, --offsets, --state")
            }
        }
        if delete {
            if group.isEmpty && !allGroups { throw UsageError("--delete takes one of these options: --all-groups, --group") }
            if !topic.isEmpty {
                throw UsageError("--topic: The consumer does not support topic-specific offset deletion from a consumer group.")
            }
        }
        if deleteOffsets && (group.count != 1 || topic.isEmpty) {
            throw UsageError("--delete-offsets takes the following options: --group (one), --topic")
        }
        try validateReset()
    }

    private var scenarioFlags: [(String, Bool)] {
        [("--to-earliest", toEarliest), ("--to-latest", toLatest), ("--to-offset", toOffset != nil),
         ("--shift-by", shiftBy != nil), ("--to-datetime", toDatetime != nil), ("--by-duration", byDuration != nil)]
    }

    private func validateReset() throws {
        let scenarios = scenarioFlags.filter(\.1).map(\.0)
        guard resetOffsets else {
            let stray = scenarios + [("--dry-run", dryRun), ("--execute", execute), ("--all-topics", allTopics)].filter(\.1).map(\.0)
            if let flag = stray.first { throw UsageError("\(flag) can only be used with --reset-offsets") }
            return
        }
        if dryRun && execute { throw UsageError("--reset-offsets only accepts one of --execute and --dry-run") }
        if group.isEmpty && !allGroups { throw UsageError("--reset-offsets takes one of these options: --all-groups, --group") }
        guard scenarios.count == 1 else {
            throw UsageError(scenarios.isEmpty
                ? "--reset-offsets requires one of: --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime, --by-duration"
                : "\(scenarios.joined(separator: ", ")): give only one reset scenario")
        }
        if topic.isEmpty == !allTopics {
            throw UsageError(allTopics ? "--all-topics cannot be used with --topic"
                                       : "One of the reset scopes should be defined: --all-topics, --topic.")
        }
    }

    func resetSpec() throws -> OffsetResetSpec? {
        guard resetOffsets else { return nil }
        if toEarliest { return .earliest }
        if toLatest { return .latest }
        if let toOffset { return .offset(toOffset) }
        if let shiftBy { return .shiftBy(shiftBy) }
        if let toDatetime {
            guard let ms = ResetTimeFormat.dateTimeMs(toDatetime) else {
                throw UsageError("--to-datetime \(toDatetime): expected YYYY-MM-DDTHH:mm:SS.sss")
            }
            return .timestamp(ms)
        }
        guard let byDuration, let ms = ResetTimeFormat.durationMs(byDuration) else {
            throw UsageError("--by-duration \(byDuration ?? ""): expected PnDTnHnMnS")
        }
        return .timestamp(Int64(Date().timeIntervalSince1970 * 1000) - ms)
    }

    /// Kafka's group state names, any case, for `--list --state`.
    func stateNames() throws -> [String] {
        let known = ["PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty", "Assigning", "Reconciling"]
        return try stateFilter.flatMap { $0.split(separator: ",") }.map { name in
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard let state = known.first(where: { $0.caseInsensitiveCompare(trimmed) == .orderedSame }) else {
                throw UsageError("--state: Invalid state list '\(stateFilter.joined(separator: ","))'. Valid states are: "
                                 + known.joined(separator: ", "))
            }
            return state
        }
    }

    /// `T` (every partition) or `T:0,1,2`.
    static func parseTopicPartitions(_ argument: String) throws -> (topic: String, partitions: [Int32]?) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
        guard !parts[0].isEmpty, parts.count <= 2 else {
            throw UsageError("--topic \(argument): Invalid topic arg, expected topic name and partitions")
        }
        guard parts.count == 2 else { return (argument, nil) }
        let partitions = try parts[1].split(separator: ",", omittingEmptySubsequences: false).map { text in
            guard let partition = Int32(text), partition >= 0 else {
                throw UsageError("--topic \(argument): Invalid partition '\(text)'")
            }
            return partition
        }
        return (String(parts[0]), partitions)
    }
}
