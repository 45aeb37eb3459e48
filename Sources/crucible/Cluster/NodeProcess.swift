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
    static func start(_ node: ClusterLayout.Node) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.executablePath)
        process.arguments = ["broker", "--config", node.directory + "/server.properties"]
        FileManager.default.createFile(atPath: node.directory + "/broker.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: node.directory + "/broker.log"))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process.processIdentifier
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
