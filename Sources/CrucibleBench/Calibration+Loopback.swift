#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

extension Calibration {
    /// One iperf3 server (`-1`: it exits after one test) and one client on a free port of 127.0.0.1; the figure is
    /// the receiver's average (`end.sum_received.bits_per_second`), as a consumer would see it.
    mutating func measureLoopback(seconds: Int) {
        guard let iperf3 = Self.executable("iperf3") else {
            notes.append("loopback not measured: iperf3 not found on PATH (Scripts/setup.sh installs it)")
            return
        }
        guard let port = Self.freeLoopbackPort() else {
            notes.append("loopback not measured: no free port on 127.0.0.1")
            return
        }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: iperf3)
        server.arguments = ["-s", "-1", "-B", "127.0.0.1", "-p", "\(port)"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        do { try server.run() } catch {
            notes.append("loopback not measured: iperf3 -s did not start: \(error)")
            return
        }
        defer {
            if server.isRunning { server.terminate() }
            server.waitUntilExit()
        }
        // The server needs a moment to listen; the client is retried while the connection is refused (20 x 50 ms
        // at most) rather than probing the port, which would use up the server's single test.
        var lastError = "no attempt"
        for _ in 0..<20 {
            let started = Self.monotonicSeconds()
            guard let output = Self.run(iperf3, ["-c", "127.0.0.1", "-p", "\(port)", "-t", "\(seconds)", "-J",
                                                 "--connect-timeout", "1000"], timeoutSeconds: Double(seconds) + 10)
            else { lastError = "iperf3 -c did not run"; break }
            let json = (try? JSONSerialization.jsonObject(with: output)) as? [String: Any]
            let end = json?["end"] as? [String: Any]
            if let bits = (end?["sum_received"] as? [String: Any])?["bits_per_second"] as? Double, bits > 0 {
                loopbackBytesPerSecond = bits / 8
                let bytes = ((end?["sum_received"] as? [String: Any])?["bytes"] as? NSNumber)?.int64Value ?? 0
                details.append(Detail(name: "loopback TCP", bytes: bytes, seconds: Self.monotonicSeconds() - started,
                                      method: "iperf3 -c 127.0.0.1 -t \(seconds), one stream, receiver's rate"))
                return
            }
            lastError = json?["error"] as? String ?? String(decoding: output.prefix(200), as: UTF8.self)
            guard lastError.contains("refused") else { break }
            usleep(50_000)
        }
        notes.append("loopback not measured: \(lastError)")
    }

    static func executable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        return (path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"])
            .map { "\($0)/\(name)" }
            .first { access($0, X_OK) == 0 }
    }

    /// Standard output of a command, or nil if it could not be started. Killed after `timeoutSeconds`, so a
    /// wedged iperf3 cannot hold up the benchmark.
    static func run(_ executable: String, _ arguments: [String], timeoutSeconds: Double) -> Data? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeoutSeconds, execute: watchdog)
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return output
    }

    /// A port the kernel hands out for 127.0.0.1 and that is free right now (another process could take it before
    /// iperf3 binds; the run then fails with a note rather than measuring the wrong thing).
    static func freeLoopbackPort() -> UInt16? {
        #if os(Linux)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, length) == 0 && getsockname(fd, generic, &length) == 0
            }
        }
        return bound ? UInt16(bigEndian: address.sin_port) : nil
    }
}
