import CrucibleWorkload
import Foundation

/// The benchmark part of a report: per result directory, every run's throughput (also as ratios to the
/// calibration of its run), CPU and memory, latency per `acks` level as percentile curves, compression, the
/// searched maximum rates and failover gaps.
struct BenchSection {
    let results: BenchResults
    /// Distinguishes this directory's anchors and chart ids from another's in the same report.
    let tag: String

    typealias H = ReportHTML

    func render() -> String {
        var html = "<section id=\"bench-\(tag)\"><h2>Benchmark: \(H.esc(results.directory))</h2>"
        html += part("runs", runTable())
        html += part("latency", latencyByAcks())
        html += part("throughput", throughputOverTime())
        html += part("compression", compression())
        html += part("max", maxRates())
        html += part("failover", failovers())
        html += part("brokers", brokers())
        html += part("warnings", warningsAndErrors())
        if !results.failures.isEmpty {
            html += part("failed", "<h3>Runs that failed</h3><ul>" + results.failures.map { "<li>\(H.esc($0))</li>" }.joined() + "</ul>")
        }
        return html + "</section>"
    }

    /// Each part is a section of its own, so a link (or a screenshot) can single it out.
    private func part(_ name: String, _ html: String) -> String {
        html.isEmpty ? "" : "<section id=\"bench-\(tag)-\(name)\">" + html + "</section>"
    }

    private func runTable() -> String {
        let rows = results.runs.map { run -> [String] in
            let usage = run.extras["usage"]
            let brokerCores = usage?["brokerCores"].map { Self.sum($0) }
            let brokerRSS = usage?["brokerPeakRSSMB"].map { Self.maximum($0) }
            return [H.esc(run.result.workload), H.esc(run.driverName), H.esc(run.acks), H.esc(run.codec),
                    run.replicationFactor.map(String.init) ?? "–", H.number(run.meanPublishRate),
                    H.number(run.publishMBps), H.percent(run.ratio("publishToLoopback")),
                    H.percent(run.ratio("publishToFreshPageCache")),
                    H.number(run.result.aggregatedPublishLatency50pct), H.number(run.result.aggregatedPublishLatency99pct),
                    H.number(run.result.aggregatedEndToEndLatency99pct),
                    H.number(brokerCores), H.number(brokerRSS), H.number(usage?["clientCores"]?.number),
                    String(run.failedSends)]
        }
        return "<h3>Runs</h3>"
            + H.table(["workload", "driver", "acks", "codec", "RF", "msg/s", "MB/s", "of loopback", "of fresh page cache",
                       "publish p50 ms", "publish p99 ms", "e2e p99 ms", "broker cores", "broker peak RSS MB",
                       "client cores", "failed sends"], rows, marks: results.runs.map { $0.failedSends > 0 ? "bad" : nil },
                      textColumns: 4)
            + "<p class=\"muted\">Throughput is the mean over the measured periods; the ratios divide the bytes published per "
            + "second by this run's own calibration (loopback TCP, fresh page-cache writes). Broker cores add up every node; "
            + "peak RSS is the largest node's.</p>"
    }

    /// One chart per run, grouped by `acks`: publish latency from the actual send (OMB's), from the intended send
    /// (free of coordinated omission), and end to end, on HdrHistogram's percentile axis.
    private func latencyByAcks() -> String {
        var html = "<h3>Latency per acks level</h3>"
        let levels = Set(results.runs.map(\.acks)).sorted()
        html += H.table(["run", "acks", "publish p50", "p99", "p99.9", "max", "from intended p99", "e2e p50", "e2e p99",
                         "e2e p99.9", "e2e max"],
                        levels.flatMap { level in
                            results.runs.filter { $0.acks == level }.map { run in
                                let r = run.result
                                return [H.esc(run.identity), H.esc(level), H.number(r.aggregatedPublishLatency50pct),
                                        H.number(r.aggregatedPublishLatency99pct), H.number(r.aggregatedPublishLatency999pct),
                                        H.number(r.aggregatedPublishLatencyMax), H.number(run.fromIntended?["p99"]?.number),
                                        H.number(r.aggregatedEndToEndLatency50pct), H.number(r.aggregatedEndToEndLatency99pct),
                                        H.number(r.aggregatedEndToEndLatency999pct), H.number(r.aggregatedEndToEndLatencyMax)]
                            }
                        }, textColumns: 2)
        for level in levels {
            html += "<h4>acks=\(H.esc(level))</h4>"
            for (index, run) in results.runs.enumerated() where run.acks == level {
                guard run.hasLatency else {
                    html += "<p class=\"muted\">\(H.esc(run.identity)): no latency recorded (nothing was acknowledged in the "
                        + "measured period).</p>"
                    continue
                }
                var chart = SVGChart(id: "\(tag)-latency-\(index)", title: run.identity, xLabel: "percentile",
                                     yLabel: "latency (ms)", xScale: .percentile, yScale: .log)
                chart.series = [
                    .init(name: "publish", points: Self.quantiles(run.result.aggregatedPublishLatencyQuantiles)),
                    .init(name: "publish from intended", points: Self.intendedPoints(run.fromIntended), style: .dashed),
                    .init(name: "end-to-end", points: Self.quantiles(run.result.aggregatedEndToEndLatencyQuantiles)),
                ]
                html += H.figure(chart.render(), caption: "Latency by percentile, whole test period. Publish from intended is "
                                 + "measured from when the schedule meant the send to happen, so a stalled producer shows.")
            }
        }
        return html
    }

    private func throughputOverTime() -> String {
        var html = "<h3>Throughput over time</h3>"
        for (index, run) in results.runs.enumerated() {
            let period = Self.periodSeconds(run)
            var chart = SVGChart(id: "\(tag)-rate-\(index)", title: run.identity, xLabel: "seconds into the test",
                                 yLabel: "msg/s")
            chart.series = [
                .init(name: "publish", points: run.result.publishRate.enumerated().map { (Double($0 + 1) * period, $1) }),
                .init(name: "consume", points: run.result.consumeRate.enumerated().map { (Double($0 + 1) * period, $1) },
                      style: .dashed),
            ]
            html += H.figure(chart.render(), caption: String(format: "Rates per %.0f-s period.", period))
        }
        return html
    }

    /// The runs of every workload run with a codec, its uncompressed run included as the reference.
    private func compression() -> String {
        let compressed = Set(results.runs.filter { $0.codec != "none" }.map(\.result.workload))
        let runs = results.runs.filter { $0.compressionRatio != nil && compressed.contains($0.result.workload) }
        guard !runs.isEmpty else { return "" }
        var html = "<h3>Compression</h3>"
        html += H.table(["workload", "codec", "payload", "handed / stored", "msg/s", "MB/s handed", "broker cores"],
                        runs.map { run in
                            [H.esc(run.result.workload), H.esc(run.codec), H.esc(run.extras["payload"]?.string ?? "?"),
                             H.number(run.compressionRatio, digits: 3), H.number(run.meanPublishRate), H.number(run.publishMBps),
                             H.number(run.extras["usage"]?["brokerCores"].map { Self.sum($0) })]
                        }, textColumns: 3)
        html += H.figure(H.bars(id: "\(tag)-compression", title: "Compression ratio: bytes handed to the producer per byte stored", unit: "",
                                runs.map { ("\($0.codec), \($0.extras["payload"]?.string ?? "?")", $0.compressionRatio ?? 0) }),
                         caption: "Stored bytes measured through DescribeLogDirs, one replica, batch overhead included: higher is better.")
        return html
    }

    private func maxRates() -> String {
        let runs = results.runs.filter { $0.maxSustainableRate != nil }
        guard !runs.isEmpty else { return "" }
        return "<h3>Maximum sustainable rate</h3>"
            + H.table(["run", "msg/s", "MB/s", "of loopback"], runs.map { run in
                let rate = run.maxSustainableRate!
                let bytes = rate * Double(run.result.messageSize)
                let loopback = run.extras["calibration"]?["loopbackBytesPerSecond"]?.number
                return [H.esc(run.identity), H.number(rate), H.number(bytes / 1_000_000), H.percent(loopback.map { bytes / $0 })]
            })
    }

    private func failovers() -> String {
        let runs = results.runs.enumerated().filter { !$0.element.failovers.isEmpty }
        guard !runs.isEmpty else { return "" }
        var html = "<h3>Failover</h3>"
        var rows: [[String]] = []
        for (index, run) in runs {
            let bands = Self.failoverBands(run)
            for failover in run.failovers {
                let at = failover["killedAtSeconds"]?.number ?? 0
                let gap = failover["gapMs"]?.number
                let node = failover["node"]?.number.map { String(Int($0)) } ?? "?"
                let controller: String
                switch failover["wasController"] {
                case .bool(let was)?: controller = was ? "yes" : "no"
                default: controller = "not known"
                }
                rows.append([H.esc(run.identity), H.number(at), "n\(node)", controller,
                             failover["newLeader"]?.number.map { "n\(Int($0))" } ?? "–",
                             gap.map { H.number($0) } ?? "none within 60 s",
                             H.number(failover["spikeP99Ms"]?.number), H.number(failover["spikeMaxMs"]?.number)])
            }
            let period = Self.periodSeconds(run)
            var chart = SVGChart(id: "\(tag)-failover-\(index)", title: run.identity, xLabel: "seconds into the test",
                                 yLabel: "publish latency (ms)", yScale: .log)
            chart.series = [
                .init(name: "p99 per period", points: run.result.publishLatency99pct.enumerated().map { (Double($0 + 1) * period, $1) }),
                .init(name: "max per period", points: run.result.publishLatencyMax.enumerated().map { (Double($0 + 1) * period, $1) },
                      style: .dashed),
            ]
            chart.bands = bands
            html += H.figure(chart.render(), caption: "Each shaded interval runs from a leader's SIGKILL to the first "
                             + "acknowledged acks=all write on its partition.")
        }
        html += H.table(["run", "killed at s", "node", "also the controller", "new leader", "gap ms", "spike p99 ms",
                         "spike max ms"], rows)
        return html
    }

    /// What went wrong during runs that still finished: refused sends by error code, and the runs' warnings
    /// (a librdkafka fatal error among them).
    private func warningsAndErrors() -> String {
        let rows = results.runs.flatMap { run -> [[String]] in
            var rows: [[String]] = []
            if case .object(let codes)? = run.extras["sendsFailedByCode"] {
                for (code, count) in codes.sorted(by: { $0.key < $1.key }) {
                    rows.append([H.esc(run.identity), H.esc("\(H.number(count.number)) sends failed with \(code)")])
                }
            }
            for warning in run.extras["warnings"]?.array ?? [] {
                rows.append([H.esc(run.identity), H.esc(warning.string ?? "")])
            }
            return rows
        }
        guard !rows.isEmpty else { return "" }
        return "<h3>Errors and warnings</h3>" + H.table(["run", "what happened"], rows, textColumns: 2)
    }

    /// Each failover as a shaded interval, from the leader's SIGKILL to the first acknowledged write after it.
    static func failoverBands(_ run: BenchRunResult) -> [SVGChart.Band] {
        let testEnd = run.extras["testSeconds"]?.number ?? 0
        return run.failovers.map { failover in
            let at = failover["killedAtSeconds"]?.number ?? 0
            let gap = failover["gapMs"]?.number
            let node = failover["node"]?.number.map { String(Int($0)) } ?? "?"
            return .init(from: at, to: gap.map { at + $0 / 1_000 } ?? max(testEnd, at),
                         label: "n\(node) killed: " + (gap.map { String(format: "%.2f s", $0 / 1_000) } ?? "no write after"))
        }
    }

    // MARK: Figures from a result

    static func quantiles(_ map: [String: Double]) -> [(x: Double, y: Double)] {
        map.compactMap { key, value in Double(key).map { ($0, value) } }.sorted { $0.x < $1.x }
    }

    static func intendedPoints(_ figures: JSONValue?) -> [(x: Double, y: Double)] {
        [(50.0, "p50"), (75, "p75"), (95, "p95"), (99, "p99"), (99.9, "p999"), (99.99, "p9999")].compactMap { p, key in
            figures?[key]?.number.map { (p, $0) }
        }
    }

    static func periodSeconds(_ run: BenchRunResult) -> Double {
        let test = run.extras["testSeconds"]?.number ?? 0
        return test > 0 ? test / Double(max(run.result.publishRate.count, 1)) : 10
    }

    static func sum(_ value: JSONValue) -> Double {
        if case .object(let fields) = value { return fields.values.compactMap(\.number).reduce(0, +) }
        return 0
    }

    static func maximum(_ value: JSONValue) -> Double {
        if case .object(let fields) = value { return fields.values.compactMap(\.number).max() ?? 0 }
        return 0
    }
}
