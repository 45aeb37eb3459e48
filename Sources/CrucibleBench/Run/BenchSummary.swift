import Foundation

/// The invocation's tables for people (summary.md) and machines (summary.json): every run, latency per acks
/// level, compression ratio per codec and payload, maximum sustainable rates, failover gaps, and the limits of
/// this machine measured in the same invocation.
public struct BenchSummary: Codable {
    public var runs: [RunSummary]
    public var failures: [String]
    public var calibration: Calibration?
    /// True when the cluster was the local one this invocation started.
    public var embeddedCluster: Bool

    public init(outcomes: [RunSummary], failures: [String], calibration: Calibration?, embedded: Bool) throws {
        runs = outcomes
        self.failures = failures
        self.calibration = calibration
        embeddedCluster = embedded
    }

    public func write(directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: URL(fileURLWithPath: directory + "/summary.json"))
        try markdown.write(toFile: directory + "/summary.md", atomically: true, encoding: .utf8)
    }

    public var markdown: String {
        var out = "# Benchmark summary\n\n"
        out += embeddedCluster ? "Cluster: the local cluster this run started.\n\n" : "Cluster: an existing cluster (--bootstrap-server).\n\n"
        if let calibration {
            out += "Limits of this machine, measured in the same run: loopback \(mbps(calibration.loopbackBytesPerSecond)), "
                + "fresh page-cache writes \(mbps(calibration.pageCacheFreshBytesPerSecond)), reused page-cache writes "
                + "\(mbps(calibration.pageCacheReusedBytesPerSecond)), disk writes with fdatasync \(mbps(calibration.diskFdatasyncBytesPerSecond)).\n\n"
        }
        out += "## Latency per acks level (ms)\n\n"
        out += "Publish latency from the intended send time (open loop) and OMB's, from the actual send; end-to-end from the send time in the record header.\n\n"
        out += table(["acks", "RF", "codec", "size", "rate msg/s", "MB/s", "publish p50", "p99", "p99.9", "max",
                      "OMB publish p99", "e2e p50", "p99", "p99.9", "max"],
                     runs.sorted { ($0.acks, $0.replicationFactor, $0.messageSize) < ($1.acks, $1.replicationFactor, $1.messageSize) }.map { r in
            [r.acks, "\(r.replicationFactor)", r.compressionType, "\(r.messageSize)", int(r.publishRate), fixed(r.publishMBps, 1),
             ms(r.publishFromIntended.p50), ms(r.publishFromIntended.p99), ms(r.publishFromIntended.p999), ms(r.publishFromIntended.max),
             ms(r.publish.p99), ms(r.endToEnd.p50), ms(r.endToEnd.p99), ms(r.endToEnd.p999), ms(r.endToEnd.max)]
        })
        let compressed = runs.filter { $0.compressionRatio != nil }
        if !compressed.isEmpty {
            out += "\n## Compression ratio (bytes handed to the producer / bytes stored)\n\n"
            out += table(["codec", "payload", "size", "acks", "ratio"],
                         compressed.sorted { ($0.compressionType, $0.payload) < ($1.compressionType, $1.payload) }.map { r in
                [r.compressionType, r.payload, "\(r.messageSize)", r.acks, fixed(r.compressionRatio!, 2)]
            })
        }
        let searched = runs.filter { $0.maxSustainableRate != nil }
        if !searched.isEmpty {
            out += "\n## Maximum sustainable rate\n\n"
            out += table(["workload", "driver", "acks", "RF", "size", "max msg/s", "max MB/s", "measured at msg/s"], searched.map { r in
                [r.workload, r.driver, r.acks, "\(r.replicationFactor)", "\(r.messageSize)", int(r.maxSustainableRate!),
                 fixed(r.maxSustainableRate! * Double(r.messageSize) / 1_048_576, 1), int(r.targetRate)]
            })
        }
        let failovers = runs.filter { !$0.failoverGapsMs.isEmpty }
        if !failovers.isEmpty {
            out += "\n## Failover (leader SIGKILLed)\n\n"
            out += table(["workload", "driver", "kill", "gap to first acks=all write (ms)", "latency spike max (ms)",
                          "also the active controller"],
                         failovers.flatMap { r in
                zip(r.failoverGapsMs, r.failoverSpikesMs).enumerated().map { i, figures in
                    let controller = i < r.failoverKilledController.count ? r.failoverKilledController[i] : nil
                    return [r.workload, r.driver, "\(i + 1)", figures.0.map { fixed($0, 0) } ?? "none in 60 s", fixed(figures.1, 1),
                            controller.map { $0 ? "yes" : "no" } ?? "not known"]
                }
            })
        }
        let unacknowledged = runs.filter { $0.failedSends > 0 || $0.abandonedSends > 0 }
        if !unacknowledged.isEmpty {
            out += "\n## Sends not acknowledged\n\n"
            out += "Failed: the cluster refused them or they timed out (any makes the exit code 1). Abandoned: still "
                + "unanswered when the run's final flush ended (a cluster slower than the offered load).\n\n"
            out += table(["workload", "driver", "failed", "by error", "abandoned"], unacknowledged.map { r in
                [r.workload, r.driver, "\(r.failedSends)",
                 r.failedSendsByCode.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
                 "\(r.abandonedSends)"]
            })
        }
        if !failures.isEmpty { out += "\n## Failed runs\n\n" + failures.map { "- \($0)\n" }.joined() }
        return out
    }

    private func table(_ header: [String], _ rows: [[String]]) -> String {
        "| " + header.joined(separator: " | ") + " |\n|" + header.map { _ in "---|" }.joined() + "\n"
            + rows.map { "| " + $0.joined(separator: " | ") + " |\n" }.joined()
    }

    private func ms(_ value: Double) -> String { fixed(value, value < 10 ? 2 : 1) }
    private func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
    private func int(_ value: Double) -> String { String(Int(value.rounded())) }
    private func mbps(_ bytesPerSecond: Double?) -> String {
        bytesPerSecond.map { String(format: "%.0f MB/s", $0 / 1_048_576) } ?? "not measured"
    }
}
