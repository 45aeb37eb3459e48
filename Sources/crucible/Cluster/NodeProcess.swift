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
    static func start(_ node: ClusterLayout.Node, extraArguments: [String] = []) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.executablePath)
        process.arguments = ["broker", "--config", node.directory + "/server.properties"] + extraArguments
        FileManager.default.createFile(atPath: node.directory + "/broker.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: node.directory + "/broker.log"))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process.processIdentifier
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

    /// Waits until the process is gone; false if it still runs after `timeout` seconds.
    static func waitForExit(_ pid: Int32?, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while isAlive(pid) {
            if Date() > deadline { return false }
            var status: Int32 = 0
            if let pid { _ = waitpid(pid, &status, WNOHANG) }
            usleep(50_000)
        }
        return true
    }

    /// Waits until the node's listener answers Metadata listing `brokers` live brokers.
    static func waitUntilServing(port: Int, brokers: Int, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let client = try? KafkaClient(bootstrap: "127.0.0.1:\(port)", requestTimeout: .seconds(2)) {
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
