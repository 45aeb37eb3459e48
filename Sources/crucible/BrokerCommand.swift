import ArgumentParser
import CrucibleBroker
import CrucibleStorage
import Foundation
import Logging

/// Loads `--config FILE` with `--override K=V` on top, exiting 2 with the reason on any problem.
func loadBrokerConfig(path: String, overrides: [String]) throws -> BrokerConfig {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw UsageError("cannot read config file \(path)")
    }
    var properties = Properties(parsing: text)
    for override in overrides {
        guard let eq = override.firstIndex(of: "=") else {
            throw UsageError("--override \(override): expected KEY=VALUE")
        }
        properties.set(String(override[..<eq]), String(override[override.index(after: eq)...]))
    }
    do {
        return try BrokerConfig(properties)
    } catch let error as ConfigError {
        throw UsageError("\(path): \(error)")
    }
}

struct BrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker", abstract: "Run one node in the foreground (server.properties keys, Kafka defaults).")

    @Option(name: .long, help: "server.properties file.")
    var config: String

    @Option(name: .long, help: "KEY=VALUE over the config file (repeatable).")
    var override: [String] = []

    @Flag(name: .long, help: "Format an unformatted single-node log directory instead of refusing to start.")
    var standalone = false

    func run() throws {
        let brokerConfig = try loadBrokerConfig(path: config, overrides: override)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["CRUCIBLE_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
            return handler
        }
        let logger = Logger(label: "crucible.broker")
        for key in brokerConfig.unknownKeys { logger.warning("unknown config key \(key) is ignored") }
        if standalone { try Broker.formatIfNeeded(brokerConfig) }
        // Kafka's Exit.halt(1) on a failed log directory: no shutdown, nothing more written or acknowledged.
        DiskFailure.onFailure { reason in
            let line = "FATAL: shutting down broker because its log directory failed: \(reason)\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
            _exit(1)
        }
        let broker = Broker(config: brokerConfig, logger: logger)
        do {
            try broker.start()
        } catch let error as BrokerStartError {
            throw UsageError(error.description)
        }
        broker.runUntilSignalled()
    }
}

/// A problem with the command line, config or input: one line on stderr, exit 2 (the contract's bad-usage code).
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
