import ArgumentParser
import CrucibleVerify

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "Analyse a history alone.")
}
