import Foundation

/// CPU time and peak memory of this process (the load generator) and of the brokers it started, read from
/// getrusage and /proc, so a result says whether the client or the brokers were the ones working.
struct SystemUsage {
    var clientCPUSeconds: Double
    var clientPeakRSSBytes: Double
    /// Per broker node: its process, CPU seconds so far and peak resident memory (VmHWM).
    var brokers: [Int32: (pid: Int32, cpuSeconds: Double, peakRSSBytes: Double)]

    static func sample(brokers: [Int32: Int32]) -> SystemUsage {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
        var nodes: [Int32: (Int32, Double, Double)] = [:]
        for (node, pid) in brokers {
            if let cpu = processCPUSeconds(pid), let peak = processPeakRSS(pid) { nodes[node] = (pid, cpu, peak) }
        }
        return SystemUsage(clientCPUSeconds: cpu, clientPeakRSSBytes: Double(usage.ru_maxrss) * 1_024, brokers: nodes)
    }

    /// CPU used between `earlier` and now, as cores busy over `seconds`; peaks as they stand now.
    func since(_ earlier: SystemUsage, seconds: Double) -> Summary {
        let span = max(seconds, 0.001)
        var brokerCores: [String: Double] = [:]
        var brokerPeaks: [String: Double] = [:]
        for (node, now) in brokers {
            // A node restarted in between (a failover run) is a new process whose CPU time began at zero.
            guard let before = earlier.brokers[node], before.pid == now.pid else { continue }
            brokerCores[String(node)] = (now.cpuSeconds - before.cpuSeconds) / span
            brokerPeaks[String(node)] = now.peakRSSBytes / 1_048_576
        }
        return Summary(clientCores: (clientCPUSeconds - earlier.clientCPUSeconds) / span,
                       clientPeakRSSMB: clientPeakRSSBytes / 1_048_576, brokerCores: brokerCores, brokerPeakRSSMB: brokerPeaks)
    }

    struct Summary: Codable, Sendable {
        var clientCores: Double
        /// The whole process's peak, which spans every run of the invocation.
        var clientPeakRSSMB: Double
        var brokerCores: [String: Double]
        var brokerPeakRSSMB: [String: Double]
    }

    private static func processCPUSeconds(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command: state is field 3, utime 14 and stime 15 (1-based, clock ticks).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private static func processPeakRSS(_ pid: Int32) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kb = Double(parts[1]) { return kb * 1_024 }
        }
        return nil
    }
}

/// The machine the numbers came from.
struct MachineInfo: Codable, Sendable {
    var cpus: Int
    var cpuModel: String
    var memoryGB: Double
    var kernel: String
    var hostname: String

    static func current() -> MachineInfo {
        let info = ProcessInfo.processInfo
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "unknown"
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return MachineInfo(cpus: info.activeProcessorCount, cpuModel: model,
                           memoryGB: Double(info.physicalMemory) / 1_073_741_824, kernel: release, hostname: info.hostName)
    }
}
