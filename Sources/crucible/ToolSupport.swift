import ArgumentParser
import CrucibleClient
import CrucibleSecurity
import Foundation

/// `--bootstrap-server` and `--command-config`, which every Kafka tool that talks to brokers takes.
struct BootstrapServer: ParsableArguments {
    @Option(name: .long, help: "HOST:PORT[,HOST:PORT...] of brokers to connect to.")
    var bootstrapServer: String

    @Option(name: .long, help: "Client properties file: security.protocol, sasl.mechanism, sasl.jaas.config or sasl.username/sasl.password, ssl.ca.location or ssl.truststore.*, ssl.keystore.* (as Kafka's tools).")
    var commandConfig: String?

    /// A malformed address or a bad security setting is bad usage (exit 2), an unreachable broker or a refused
    /// login a failed operation (exit 1). `properties` are the tool's own client properties (a console tool's
    /// --producer.config and --producer-property), over the --command-config file.
    func connect(clientId: String, properties: [String: String] = [:]) throws -> KafkaClient {
        var settings = try commandConfig.map { try loadClientProperties($0) } ?? [:]
        settings.merge(properties) { _, own in own }
        let security: ClientSecurity
        do {
            security = try ClientSecurity(properties: settings)
        } catch {
            throw UsageError("\(commandConfig.map { "--command-config \($0)" } ?? "client properties"): \(error)")
        }
        do {
            return try KafkaClient(bootstrap: bootstrapServer, clientId: clientId, security: security)
        } catch let error as KafkaClient.BootstrapError {
            throw UsageError("--bootstrap-server: \(error)")
        } catch {
            Tool.fail("cannot reach --bootstrap-server \(bootstrapServer): \(error)")
        }
    }
}

/// Shared plumbing for the Kafka command-line tools (`topics`, `configs`, `console-*`).
enum Tool {
    /// Prints `message` on stderr and exits 1: the operation was tried and did not succeed.
    static func fail(_ message: String) -> Never {
        printError(message)
        exit(1)
    }

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Splits `K=V` at the first `=`, naming `flag` when there is none.
    static func keyValue(_ text: String, flag: String) throws -> (key: String, value: String) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw UsageError("\(flag) \(text): expected KEY=VALUE")
        }
        return (String(text[..<eq]), String(text[text.index(after: eq)...]))
    }

    /// `--property K=V` options as a dictionary (later ones win, as in Kafka's tools).
    static func properties(_ entries: [String], flag: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for entry in entries {
            let (key, value) = try keyValue(entry, flag: flag)
            result[key] = value
        }
        return result
    }

    /// Whole milliseconds since `start` (linger and idle timeouts).
    static func elapsedMs(since start: ContinuousClock.Instant) -> Int {
        let elapsed = (ContinuousClock.now - start).components
        return Int(elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000)
    }

    /// Kafka's boolean property values: `true`/`false`, any case.
    static func bool(_ properties: [String: String], _ key: String, default fallback: Bool, flag: String) throws -> Bool {
        guard let text = properties[key] else { return fallback }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: throw UsageError("\(flag) \(key)=\(text): expected true or false")
        }
    }
}
