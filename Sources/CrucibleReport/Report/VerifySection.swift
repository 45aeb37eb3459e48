import CrucibleVerify
import CrucibleWorkload
import Foundation

/// The verification part of a report: per scenario and run, the verdict, acknowledged writes lost, the anomalies'
/// witnesses (linking the checker's page of the history), and operation latency and throughput over time with
/// the nemesis's faults shaded over them, beside the brokers' own account of their partitions when it was scraped.
struct VerifySection {
    let results: VerifyResults
    let tag: String
    /// Where the report is written: links to a run's history page are relative to it.
    let reportDirectory: String

    private typealias H = ReportHTML
    /// Dots drawn per kind of operation; beyond that every n-th, said in the caption.
    static let maxDotsPerSeries = 2_500

    func render() -> String {
        var html = "<section id=\"verify-\(tag)\"><h2>Verification: \(H.esc(results.directory))</h2><section id=\"verify-\(tag)-runs\">"
        let runs = results.runs
        html += H.table(["scenario", "run", "seed", "outcome", "valid", "anomalies", "acknowledged sends", "lost", "history"],
                        runs.map { run in
                            let o = run.outcome
                            let found = o.anomalyTypes.map { o.allowedAnomalyTypes.contains($0) ? "\($0) (expected)" : $0 }
                            return [H.esc(o.scenario), H.esc((run.directory as NSString).lastPathComponent), String(o.seed),
                                    o.expectationMet ? "as expected" : "<b>not as expected</b>: \(H.esc(o.reason))",
                                    H.esc(o.valid), H.esc(found.isEmpty ? "none" : found.joined(separator: ", ")),
                                    String(o.acknowledgedSends), String(o.acknowledgedWritesLost), link(run)]
                        },
                        marks: runs.map { $0.outcome.expectationMet ? nil : "bad" }, textColumns: 6)
        html += H.figure(H.bars(id: "\(tag)-lost", title: "Acknowledged writes lost, per run", unit: "",
                                runs.map { ("\($0.outcome.scenario) \(($0.directory as NSString).lastPathComponent)",
                                            Double($0.outcome.acknowledgedWritesLost)) }),
                         caption: "Acknowledged values the final reads of every key did not find.")
        html += "</section>"
        for (index, run) in runs.enumerated() { html += section(run, index: index) }
        return html + "</section>"
    }

    private func link(_ run: VerifyRunResult) -> String {
        guard let view = run.historyView else { return "–" }
        return "<a href=\"\(H.esc(Self.relative(view, from: reportDirectory)))\">history</a>"
    }

    private func section(_ run: VerifyRunResult, index: Int) -> String {
        let o = run.outcome
        var html = "<section id=\"verify-\(tag)-run-\(index)\"><h3>\(H.esc(o.scenario)), \(H.esc((run.directory as NSString).lastPathComponent))</h3>"
        html += "<p><span class=\"verdict \(o.expectationMet ? "pass" : "fail")\">\(o.expectationMet ? "as expected" : "not as expected")</span>"
            + "\(H.esc(o.reason)). \(o.acknowledgedSends) acknowledged sends, \(o.acknowledgedWritesLost) lost; "
            + "final reads \(o.finalReadsComplete ? "complete" : "incomplete"); cluster \(o.clusterWholeAfterHealing ? "whole" : "not whole") after healing.</p>"
        if !run.witnesses.isEmpty { html += witnesses(run) }
        let bands = Self.faultIntervals(run.nemesis, end: Self.lastSecond(run.history))
        let (latency, throughput, stride) = Self.operationSeries(run.history)
        var scatter = SVGChart(id: "\(tag)-ops-\(index)", title: "Operation latency", xLabel: "seconds since the test began",
                               yLabel: "latency (ms)", yScale: .log)
        scatter.series = latency
        scatter.bands = bands
        scatter.xStart = 0
        html += H.figure(scatter.render(), caption: "Each dot is one operation, at its invocation; shaded: the nemesis's faults"
                         + (stride > 1 ? " (every \(stride)th operation of a kind is drawn)." : "."))
        var line = SVGChart(id: "\(tag)-throughput-\(index)", title: "Completed operations per second",
                            xLabel: "seconds since the test began", yLabel: "operations/s")
        line.series = throughput
        line.bands = bands
        line.xStart = 0
        html += H.figure(line.render(), caption: "Operations that completed ok, per second, by kind.")
        if let nodes = run.brokerSeries,
           let partitions = BrokerCharts.partitions(id: "\(tag)-brokers-\(index)", title: "Partitions, as the brokers reported them",
                                                    xLabel: "seconds since the test began", nodes: nodes, bands: bands) {
            html += H.figure(partitions.render(), caption: "Each node's UnderReplicatedPartitions and the active controller's "
                             + "OfflinePartitionsCount, scraped every second; shaded: the nemesis's faults. A node that did not "
                             + "answer (killed, paused, cut off) has no point then.")
        }
        return html + "</section>"
    }

    private func witnesses(_ run: VerifyRunResult) -> String {
        var byIndex: [Int: CrucibleVerify.Operation] = [:]
        for op in run.history?.operations ?? [] where op.type != .invoke { byIndex[op.index] = op }
        var html = "<h4>Anomalies</h4>"
        for (type, list) in run.witnesses.sorted(by: { $0.key < $1.key }) {
            html += "<p><b>\(H.esc(type))</b>: \(list.count) witness(es)\(run.historyView != nil ? "; see the " + link(run) : "")</p><pre>"
            for witness in list.prefix(3) {
                html += H.esc("ops " + witness.map(String.init).joined(separator: ", ")) + "\n"
                for index in witness.prefix(4) {
                    if let op = byIndex[index] { html += "  " + H.esc(String(HistoryWriter.jsonl(op).prefix(200))) + "\n" }
                }
            }
            html += "</pre>"
        }
        return html
    }

    // MARK: Figures from a history

    /// A fault lasts until the step that undoes it (a restart for a kill, a heal for a cut), or to the end.
    static func faultIntervals(_ events: [VerifyRunResult.NemesisEvent], end: Double) -> [SVGChart.Band] {
        var bands: [SVGChart.Band] = []
        for (index, event) in events.enumerated() {
            guard let fault = NemesisFault(rawValue: event.fault), let healing = fault.healing else { continue }
            let closing = events[(index + 1)...].first { later in
                later.fault == healing.rawValue && (fault.cutsNetwork || !Set(later.nodes).isDisjoint(with: event.nodes))
            }
            let nodes = event.nodes.map { "n\($0)" }.joined(separator: ",")
            bands.append(.init(from: event.atSeconds, to: closing?.atSeconds ?? max(end, event.atSeconds),
                               label: "\(event.fault) \(nodes)"))
        }
        return bands
    }

    static func lastSecond(_ history: History?) -> Double {
        Double(history?.operations.last?.time ?? 0) / 1e9
    }

    /// Latency dots per kind of operation and outcome, and ok completions per second per kind.
    static func operationSeries(_ history: History?) -> (latency: [SVGChart.Series], throughput: [SVGChart.Series], stride: Int) {
        guard let history else { return ([], [], 1) }
        var dots: [String: [(x: Double, y: Double)]] = [:]
        var perSecond: [String: [Int: Int]] = [:]
        for (position, op) in history.operations.enumerated() where op.type == .invoke && op.process.isClient {
            guard let end = history.completion(of: position), let start = op.time, let finish = history[end].time else { continue }
            let outcome = history[end].type
            let kind = outcome == .ok ? "\(op.f) ok" : outcome.rawValue
            dots[kind, default: []].append((Double(start) / 1e9, max(Double(finish - start) / 1e6, 0.001)))
            if outcome == .ok { perSecond[op.f, default: [:]][finish / 1_000_000_000, default: 0] += 1 }
        }
        let largest = dots.values.map(\.count).max() ?? 0
        let stride = max(1, (largest + maxDotsPerSeries - 1) / maxDotsPerSeries)
        let colors = ["fail": "#e377c2", "info": "#ff7f0e"]
        let latency = dots.keys.sorted().map { kind in
            SVGChart.Series(name: kind, points: Swift.stride(from: 0, to: dots[kind]!.count, by: stride).map { dots[kind]![$0] },
                            style: .dots, color: colors[kind])
        }
        let throughput = perSecond.keys.sorted().map { f in
            let counts = perSecond[f]!
            let last = counts.keys.max() ?? 0
            return SVGChart.Series(name: f, points: (0...last).map { (Double($0) + 0.5, Double(counts[$0] ?? 0)) })
        }
        return (latency, throughput, stride)
    }

    /// `path` as a link from `directory`: relative when both are, so a report and its inputs can move together.
    static func relative(_ path: String, from directory: String) -> String {
        let target = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
        let base = URL(fileURLWithPath: directory).standardizedFileURL.pathComponents
        let common = zip(target, base).prefix { $0 == $1 }.count
        return (Array(repeating: "..", count: base.count - common) + target[common...]).joined(separator: "/")
    }
}
