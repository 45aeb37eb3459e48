import ArgumentParser
import CrucibleClient
import Foundation

/// `--bootstrap-server`, which every Kafka tool that talks to brokers takes.
struct BootstrapServer: ParsableArguments {
    @Option(name: .long, help: "HOST:PORT[,HOST:PORT...] of brokers to connect to.")
    var bootstrapServer: String

    /// A malformed address is bad usage (exit 2), an unreachable one a failed operation (exit 1).
    func connect(clientId: String) throws -> KafkaClient {
        do {
            return try KafkaClient(bootstrap: bootstrapServer, clientId: clientId)
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
