import CrucibleWorkload
import Foundation

/// The brokers' side of a run, from the series `crucible bench` scraped from their `/metrics`: partitions
/// under-replicated and offline over time (around a failover, the cluster's own account of it), and where a
/// Produce request's time went on the brokers beside the latency the client saw.
extension BenchSection {
    func brokers() -> String {
        let runs = results.runs.enumerated().filter { $0.element.extras["brokerMetrics"]?["nodes"] != nil }
        guard !runs.isEmpty else { return "" }
        var html = "<h3>Brokers</h3>"
        for (index, run) in runs {
            guard case .object(let nodes)? = run.extras["brokerMetrics"]?["nodes"] else { continue }
            let ordered = nodes.sorted { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }
            let bands = Self.failoverBands(run)
            // A chart only where there is something to draw (a run without produce has no Produce times).
            if let partitions = BrokerCharts.partitions(id: "\(tag)-brokers-partitions-\(index)", title: run.identity,
                                                        xLabel: "seconds into the test", nodes: nodes, bands: bands) {
                html += H.figure(partitions.render(), caption: "Each node's UnderReplicatedPartitions and the active "
                                 + "controller's OfflinePartitionsCount, scraped every period; shaded: failovers.")
            }

            var produce = SVGChart(id: "\(tag)-brokers-produce-\(index)", title: run.identity, xLabel: "seconds into the test",
                                   yLabel: "ms per request (mean)", yScale: .log)
            for (part, label) in [("total", "broker total"), ("requestQueue", "request queue"), ("local", "local"),
                                  ("remote", "remote (waiting for replicas)"), ("responseSend", "response send")] {
                let points = Self.meanAcrossNodes(ordered.map(\.value), part)
                if !points.isEmpty { produce.series.append(.init(name: label, points: points, style: part == "total" ? .line : .dashed)) }
            }
            let period = Self.periodSeconds(run)
            produce.series.append(.init(name: "client: publish latency avg",
                                        points: run.result.publishLatencyAvg.enumerated().map { (Double($0 + 1) * period, $1) }, style: .dots))
            produce.bands = bands
            if produce.drawablePointCount > 0 {
                html += H.figure(produce.render(), caption: "Kafka's RequestMetrics for Produce, averaged over the nodes, "
                                 + "beside the client's publish latency: the difference is the network and the client's own queue.")
            }
        }
        return html
    }

    /// A Produce part's mean per interval, averaged over the nodes that had requests then (by interval index).
    static func meanAcrossNodes(_ nodes: [JSONValue], _ part: String) -> [(x: Double, y: Double)] {
        var sums: [Int: (x: Double, total: Double, count: Int)] = [:]
        for node in nodes {
            let times = node["atSeconds"]?.array?.compactMap(\.number) ?? []
            let values = node["produceTimeMs"]?[part]?.array ?? []
            for (index, (time, value)) in zip(times, values).enumerated() {
                guard let ms = value.number else { continue }
                let entry = sums[index] ?? (time, 0, 0)
                sums[index] = (entry.x, entry.total + ms, entry.count + 1)
            }
        }
        return sums.keys.sorted().compactMap { index in
            let entry = sums[index]!
            return entry.count > 0 ? (entry.x, max(entry.total / Double(entry.count), 0.001)) : nil
        }
    }
}
