import CrucibleWorkload
import Foundation

/// A cluster the user runs, broken through the shell commands its scenario gives (`ExternalCluster`). Nothing
/// here knows what the nodes are: a command that exits non-zero fails the nemesis step, which the timeline shows.
public final class CommandCluster: VerifyCluster {
    private let description: ExternalCluster

    public init(_ description: ExternalCluster) { self.description = description }

    public var bootstrapServers: String { description.bootstrapServers }
    public var nodeIds: [Int32] { description.nodeIds }
    public var metricsURLs: [Int32: String] {
        Dictionary(uniqueKeysWithValues: zip(description.nodeIds, description.metricsURLs).map { ($0, $1) })
    }

    public func address(of node: Int32) -> String? {
        description.nodeIds.firstIndex(of: node).map { description.addresses[$0] }
    }

    public func kill(node: Int32) throws { try run("kill", node) }
    public func start(node: Int32) throws { try run("start", node) }
    public func pause(node: Int32) throws { try run("pause", node) }
    public func resume(node: Int32) throws { try run("resume", node) }

    public func cut(_ cut: NetworkCut) throws {
        throw CommandFailure("a cluster crucible does not start cannot be partitioned")
    }

    public func healPartitions() throws {}

    public func setDiskFault(node: Int32, _ fault: DiskFault?) throws {
        throw CommandFailure("a cluster crucible does not start has no breakable disks")
    }

    public func setClock(node: Int32, offsetSeconds: Int) throws {
        throw CommandFailure("a cluster crucible does not start has no movable clocks")
    }

    /// Each node's `logs` command output, when the scenario gives one.
    public func collectLogs(into directory: String) {
        guard description.commands["logs"] != nil else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for node in nodeIds {
            guard let command = description.command("logs", node: node),
                  let output = try? Self.shell(command, timeoutSeconds: 60) else { continue }
            try? output.write(to: URL(fileURLWithPath: "\(directory)/node-\(node).log"))
        }
    }

    private func run(_ action: String, _ node: Int32) throws {
        guard let command = description.command(action, node: node) else {
            throw CommandFailure("no \(action) command for node \(node)")
        }
        _ = try Self.shell(command, timeoutSeconds: 120)
    }

    /// Runs `command` with `/bin/sh -c`; its standard output, or a failure naming the command and its stderr.
    /// Output goes to files, not pipes, and the shell is reaped with waitpid: a command that starts a daemon (a
    /// node) leaves it holding whatever descriptors it inherited, so a pipe would never reach its end.
    static func shell(_ command: String, timeoutSeconds: Double) throws -> Data {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-command-\(UUID().uuidString)").path
        defer { for suffix in [".out", ".err"] { try? FileManager.default.removeItem(atPath: base + suffix) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, base + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, base + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let words: [String] = ["/bin/sh", "-c", command]
        let argv = words.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, nil, argv, environ)
        guard spawned == 0 else { throw CommandFailure("`\(command)`: \(String(cString: strerror(spawned)))") }
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            guard Date() < deadline else {
                Glibc.kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw CommandFailure("`\(command)` did not finish within \(Int(timeoutSeconds)) s")
            }
            usleep(20_000)
        }
        let output = FileManager.default.contents(atPath: base + ".out") ?? Data()
        // Exited normally with status 0 (the wait status's low 7 bits are the signal, the next 8 the exit code).
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            let message = String(decoding: FileManager.default.contents(atPath: base + ".err") ?? Data(), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let how = status & 0x7f == 0 ? "exited \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
            throw CommandFailure("`\(command)` \(how)\(message.isEmpty ? "" : ": \(message)")")
        }
        return output
    }
}

public struct CommandFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
