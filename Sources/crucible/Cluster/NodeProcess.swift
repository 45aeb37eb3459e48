import CrucibleSecurity
import CrucibleClient
import Foundation

/// Starting, signalling and watching one node's `crucible broker` process.
enum NodeProcess {
    static func isAlive(_ pid: Int32?) -> Bool {
        guard let pid, pid > 0 else { return false }
        // A zombie still answers kill(0); read its state to tell.
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            let state = stat[stat.index(close, offsetBy: 2)]
            if state == "Z" || state == "X" { return false }
        }
        return kill(pid, 0) == 0
    }

    /// Launches the node in the background, detached from this process, logging to its directory.
    ///
    /// Each node gets a session of its own, as a node on its own machine would have: with the kernel's
    /// autogroup scheduling (on by default), CPU time is then shared between sessions before threads, so a
    /// benchmark's thousands of librdkafka threads on the same machine cannot starve the nodes. Sharing the
    /// benchmark's session, the nodes got a few percent of the CPU under OMB's 100-topic workload: heartbeats
    /// arrived 9 s late and the metadata quorum went minutes without a leader.
    static func start(_ node: ClusterLayout.Node, extraArguments: [String] = []) throws -> Int32 {
        var arguments = [CommandLine.executablePath, "broker", "--config", node.directory + "/server.properties"] + extraArguments
        // On a host of its own: `ip netns exec` enters the namespace and execs the node (the pid stays the node's).
        if let namespace = node.namespace { arguments = ["/usr/sbin/ip", "netns", "exec", namespace] + arguments }
        // Appended to across restarts: what a node said before it was killed is what explains a failure.
        let logPath = node.directory + "/broker.log"
        let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard log >= 0 else { throw ClusterFailure("cannot open \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, log, 1)
        posix_spawn_file_actions_adddup2(&actions, log, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (glibc's value; the macro is not imported into Swift) and default signal handling,
        // whatever this process ignores or blocks.
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setflags(&attributes, Int16(0x80 | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let envp = environment(adding: preloads(node)).map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw ClusterFailure("cannot start node \(node.id): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// The libraries a node runs with and their settings: libfaketime for a movable clock, the disk-fault library
    /// for a breakable disk (both: one LD_PRELOAD naming the two).
    private static func preloads(_ node: ClusterLayout.Node) -> [String] {
        let entries = (node.clockFile.map(FakeClock.environment(offsetFile:)) ?? [])
            + (node.diskFaultFile.map(DiskFaults.environment(controlFile:)) ?? [])
        let libraries = entries.filter { $0.hasPrefix("LD_PRELOAD=") }.map { $0.dropFirst("LD_PRELOAD=".count) }
        return entries.filter { !$0.hasPrefix("LD_PRELOAD=") } + (libraries.isEmpty ? [] : ["LD_PRELOAD=" + libraries.joined(separator: ":")])
    }

    /// This process's environment as it is now (`setenv` included), with `extra` replacing what it names.
    private static func environment(adding extra: [String]) -> [String] {
        let replaced = Set(extra.map { $0.prefix { $0 != "=" } })
        var entries: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if !replaced.contains(text.prefix { $0 != "=" }) { entries.append(text) }
            cursor += 1
        }
        return entries + extra
    }

    /// A node that formats its own directory (`--standalone`).
    static func startStandalone(_ node: ClusterLayout.Node) throws -> Int32 {
        try start(node, extraArguments: ["--standalone"])
    }

    /// A port nothing listens on now (the kernel's choice for an ephemeral bind).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClusterFailure("cannot open a socket to find a free port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ClusterFailure("cannot bind a socket to find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether nothing listens on the loopback port now (a bind to it succeeds).
    static func isFree(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    static func signal(_ pid: Int32?, _ sig: Int32) {
        guard let pid, isAlive(pid) else { return }
        kill(pid, sig)
    }

    /// Waits until the process is gone, and reaps it when it is this process's child; false if it still runs
    /// after `timeout` seconds.
    static func waitForExit(_ pid: Int32?, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while isAlive(pid) {
            if Date() > deadline { return false }
            if let pid { _ = waitpid(pid, &status, WNOHANG) }
            usleep(50_000)
        }
        // `isAlive` calls a zombie gone: reap it here, or every killed node of a many-run `verify` stays one.
        if let pid, pid > 0 { _ = waitpid(pid, &status, WNOHANG) }
        return true
    }

    /// Waits until the node's listener answers Metadata listing `brokers` live brokers.
    static func waitUntilServing(address: String, brokers: Int, timeout: Double, security: ClientSecurity = .plaintext) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let client = try? KafkaClient(bootstrap: address, requestTimeout: .seconds(2), security: security) {
                let metadata = try? client.refreshMetadata(topics: [])
                client.close()
                if let metadata, metadata.brokers.count >= brokers { return true }
            }
            usleep(200_000)
        }
        return false
    }
}

extension CommandLine {
    /// This executable, so the nodes run the same build.
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
    }
}
