// The one-screen text summary `crucible check` prints.

public enum TextSummary {
    public static func render(_ report: CheckReport, maxPerType: Int = 3) -> String {
        let a = report.analysis
        var lines: [String] = []
        let verdict: String
        switch a.validity {
        case .valid: verdict = "VALID"
        case .invalid: verdict = "INVALID"
        case .unknown: verdict = "UNKNOWN (budget exhausted before a verdict)"
        }
        lines.append("\(report.source): \(verdict)")
        lines.append("  workload \(report.workload.rawValue), checker \(a.checker), \(report.entries) history entries, "
            + "read \(format(report.readSeconds)) s, checked \(format(report.checkSeconds)) s")
        if a.anomalies.isEmpty {
            lines.append("  no anomalies")
        }
        for type in a.anomalyTypes {
            let found = a.anomalies(ofType: type)
            let allowed = a.allowedTypes.contains(type) ? " (allowed)" : ""
            lines.append("  \(type)\(allowed): \(found.count)")
            for anomaly in found.prefix(maxPerType) { lines.append("    " + describe(anomaly)) }
            if found.count > maxPerType { lines.append("    ... \(found.count - maxPerType) more in analysis.json") }
        }
        return lines.joined(separator: "\n")
    }

    /// One line: key, the proving operations, and the most telling details.
    static func describe(_ anomaly: Anomaly) -> String {
        var parts: [String] = []
        if let key = anomaly.key { parts.append("key \(key.name ?? key.description)") }
        parts.append("ops \(anomaly.ops.map(String.init).joined(separator: ","))")
        for name in ["value", "values", "offset", "offsets", "delta", "count", "cannot-linearize-text"] {
            if let v = anomaly.detail(name) { parts.append("\(name) \(v)") }
        }
        if let prefix = anomaly.detail("longest-linearizable-prefix")?.elements {
            parts.append("longest linearizable prefix \(prefix.count) ops")
        }
        let line = parts.joined(separator: "; ")
        return line.count > 150 ? String(line.prefix(147)) + "..." : line
    }

    /// Seconds to the millisecond, and to the tenth of one below a second (small histories take less).
    static func format(_ seconds: Double) -> String {
        let digits = seconds < 1 ? 4 : 3
        let units = (seconds * (digits == 4 ? 10_000 : 1_000)).rounded()
        let whole = Int(units) / (digits == 4 ? 10_000 : 1_000), fraction = String(Int(units) % (digits == 4 ? 10_000 : 1_000))
        return String(whole) + "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
}
