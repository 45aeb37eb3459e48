import CrucibleWorkload

/// Charts of the series `crucible bench` and `crucible verify` scrape from the brokers' `/metrics`: one shape in
/// both (per node, `atSeconds` beside each gauge's values, null where a scrape failed).
enum BrokerCharts {
    /// Each node's under-replicated partitions and the active controller's offline ones over time, with `bands`
    /// shaded; nil when nothing was scraped.
    static func partitions(id: String, title: String, xLabel: String, nodes: [String: JSONValue],
                           bands: [SVGChart.Band]) -> SVGChart? {
        let ordered = nodes.sorted { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }
        var chart = SVGChart(id: id, title: title, xLabel: xLabel, yLabel: "partitions")
        for (node, series) in ordered {
            chart.series.append(.init(name: "under-replicated on n\(node)", points: points(series, "underReplicatedPartitions")))
        }
        let offline = ordered.flatMap { points($0.value, "offlinePartitions") }
        chart.series.append(.init(name: "offline (active controller)", points: offline.sorted { $0.x < $1.x }, style: .dashed))
        chart.bands = bands
        return chart.drawablePointCount > 0 ? chart : nil
    }

    static func points(_ series: JSONValue, _ key: String) -> [(x: Double, y: Double)] {
        let times = series["atSeconds"]?.array?.compactMap(\.number) ?? []
        let values = series[key]?.array ?? []
        return zip(times, values).compactMap { time, value in value.number.map { (time, $0) } }
    }
}
