import ArgumentParser

@main
struct Crucible: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crucible",
        abstract: "A Kafka-compatible broker cluster and a benchmark and verification harness.",
        subcommands: [CheckCommand.self])
}
