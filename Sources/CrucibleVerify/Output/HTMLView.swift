// A self-contained HTML page (inline CSS and SVG, no external assets) showing a checked history for
// people: the verdict, the anomalies with the operations that prove them, and per partition the
// operations on a time axis, one lane per process, witnesses outlined in red.

public enum HTMLView {
    /// Most operations drawn per partition; beyond that, a window around the witnesses.
    static let maxOpsPerPartition = 300
    /// Most partitions drawn.
    static let maxPartitions = 6

    /// The page needs the history itself (`CheckOptions.keepHistory`); without it only the verdict and anomalies show.
    public static func render(_ report: CheckReport) -> String {
        let history = report.history ?? .empty(report.source)
        let analysis = report.analysis
        var positionOfIndex: [Int: Int] = [:]
        for (p, op) in history.operations.enumerated() where positionOfIndex[op.index] == nil || op.type != .invoke {
            positionOfIndex[op.index] = p
        }
        // Per partition key: witness operations (by invocation position) -> anomaly types. An anomaly
        // without a key marks its operations in every partition.
        var marks: [Value?: [Int: Set<String>]] = [:]
        for a in analysis.anomalies {
            for i in a.ops { if let p = positionOfIndex[i] { marks[a.key, default: [:]][span(history, p).start, default: []].insert(a.type) } }
        }
        let partitions = Partitions.of(report)
        let anomalousKeys = Set(analysis.anomalies.compactMap(\.key))
        // Partitions in the order their anomalies are reported (smallest failing key first for
        // linearizability), then the clean ones.
        var rank: [Value: Int] = [:]
        for (i, a) in analysis.anomalies.enumerated() { if let k = a.key, rank[k] == nil { rank[k] = i } }
        let shown = partitions.enumerated().sorted { (rank[$0.element.key] ?? Int.max, $0.offset) < (rank[$1.element.key] ?? Int.max, $1.offset) }
            .map(\.element).prefix(maxPartitions)

        var body = ""
        body += "<h1>\(escape(history.source))</h1>\n"
        let verdict: (String, String)
        switch analysis.validity {
        case .valid: verdict = ("valid", "VALID")
        case .invalid: verdict = ("invalid", "INVALID")
        case .unknown: verdict = ("unknown", "UNKNOWN")
        }
        body += "<p class=\"verdict \(verdict.0)\">\(verdict.1)</p>\n"
        body += "<p>Workload <b>\(report.workload.rawValue)</b>, checker <b>\(analysis.checker)</b>, \(history.count) history entries, "
            + "\(partitions.count) partitions.</p>\n"
        body += anomalyTable(analysis)
        body += legend()
        for partition in shown {
            let keyMarks = (marks[partition.key] ?? [:]).merging(marks[nil] ?? [:]) { $0.union($1) }
            body += timeline(partition, history: history, marks: keyMarks, highlighted: anomalousKeys.contains(partition.key))
            if report.workload == .kafka, anomalousKeys.contains(partition.key) {
                body += KafkaLogView.render(partition, history: history, marks: keyMarks)
            }
        }
        if partitions.count > shown.count {
            body += "<p class=\"note\">\(partitions.count - shown.count) more partitions not drawn.</p>\n"
        }
        return """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><title>crucible check: \(escape(history.source))</title>
        <style>
        body { font-family: -apple-system, Helvetica, Arial, sans-serif; margin: 24px; color: #222; }
        h1 { font-size: 18px; margin: 0 0 8px 0; } h2 { font-size: 15px; margin: 24px 0 4px 0; }
        .verdict { display: inline-block; padding: 4px 12px; border-radius: 4px; font-weight: bold; color: white; }
        .valid { background: #2e8540; } .invalid { background: #c0392b; } .unknown { background: #b7791f; }
        table { border-collapse: collapse; font-size: 13px; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
        th { background: #f4f4f4; } .allowed { color: #777; } .note { color: #666; font-size: 12px; }
        .legend span { display: inline-block; margin-right: 16px; font-size: 12px; }
        .swatch { display: inline-block; width: 22px; height: 10px; margin-right: 4px; vertical-align: middle; }
        svg text { font-size: 10px; } .lane { font-size: 11px; fill: #444; }
        </style></head><body>
        \(body)
        </body></html>
        """
    }

    // MARK: pieces

    static func anomalyTable(_ analysis: Analysis) -> String {
        guard !analysis.anomalies.isEmpty else { return "<p>No anomalies.</p>\n" }
        var out = "<h2>Anomalies</h2>\n<table><tr><th>type</th><th>key</th><th>operations (index)</th><th>details</th></tr>\n"
        for type in analysis.anomalyTypes {
            let found = analysis.anomalies(ofType: type)
            let cls = analysis.allowedTypes.contains(type) ? " class=\"allowed\"" : ""
            for a in found.prefix(10) {
                let details = a.details.map { "\($0.key.name ?? ""): \(short($0.value))" }.joined(separator: "; ")
                out += "<tr\(cls)><td>\(type)\(cls.isEmpty ? "" : " (allowed)")</td><td>\(escape(a.key.map(label) ?? ""))</td>"
                    + "<td>\(a.ops.map(String.init).joined(separator: ", "))</td><td>\(escape(details))</td></tr>\n"
            }
            if found.count > 10 { out += "<tr\(cls)><td>\(type)</td><td colspan=\"3\">... \(found.count - 10) more</td></tr>\n" }
        }
        return out + "</table>\n"
    }

    static func legend() -> String {
        """
        <p class="legend"><span><i class="swatch" style="background:#9db8d9"></i>ok</span>\
        <span><i class="swatch" style="background:#f7b0c8"></i>fail (did not happen)</span>\
        <span><i class="swatch" style="background:#f6c36b"></i>info (indeterminate: may take effect any time after its invocation)</span>\
        <span><i class="swatch" style="background:#fff;border:2px solid #d62728"></i>witness of an anomaly</span>\
        <span>Bars span invocation to completion; x is the order of events within the partition, labelled with history indexes; hover for details.</span></p>\n
        """
    }

    struct Row {
        let start: Int
        let end: Int?
        let op: Operation
        let text: String
    }

    /// Invocation and completion positions of the operation at `position`.
    static func span(_ history: History, _ position: Int) -> (start: Int, end: Int?) {
        let op = history[position]
        if op.type == .invoke { return (position, history.completion(of: position)) }
        return (history.invocation(of: position) ?? position, position)
    }

    static func timeline(_ partition: Partitions.Partition, history: History, marks: [Int: Set<String>], highlighted: Bool) -> String {
        var rows: [Row] = partition.invocations.map { start in
            let end = history.completion(of: start)
            let op = end.map { history[$0] } ?? history[start]
            return Row(start: start, end: end, op: op, text: partition.describe(op))
        }
        var note = ""
        if rows.count > maxOpsPerPartition {
            // A window centred on the first witness in this partition.
            let centre = rows.firstIndex { marks[$0.start] != nil } ?? 0
            let from = max(0, min(centre - maxOpsPerPartition / 2, rows.count - maxOpsPerPartition))
            note = "Showing operations \(from + 1)–\(from + maxOpsPerPartition) of \(rows.count) in this partition, around the first witness."
            rows = Array(rows[from..<from + maxOpsPerPartition])
        }
        guard !rows.isEmpty else { return "" }
        let lanes = Array(Set(rows.map(\.op.process))).sorted(by: laneOrder)
        var laneOf: [Process: Int] = [:]
        for (i, lane) in lanes.enumerated() { laneOf[lane] = i }
        // The x axis is this partition's own event order (each invocation and completion gets a slot),
        // so a key with few operations in a long history is still drawn wide enough to read.
        let events = Array(Set(rows.flatMap { [$0.start] + ($0.end.map { [$0] } ?? []) })).sorted()
        var slot: [Int: Int] = [:]
        for (i, p) in events.enumerated() { slot[p] = i }
        let slots = events.count + 1   // the last slot stands for "never completed"
        let width = 1100.0, left = 70.0, laneHeight = 26.0, top = 24.0
        let scale = (width - left - 10) / Double(slots)
        let height = top + Double(lanes.count) * laneHeight + 10
        func x(_ position: Int) -> Double { left + Double(slot[position] ?? slots) * scale }

        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\">\n"
        // Axis: a handful of ticks labelled with the history index at that slot.
        let step = max(1, events.count / 10)
        for i in stride(from: 0, to: events.count, by: step) {
            let tx = left + Double(i) * scale
            svg += "<line x1=\"\(f(tx))\" y1=\"\(Int(top - 6))\" x2=\"\(f(tx))\" y2=\"\(Int(height - 6))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(f(tx))\" y=\"\(Int(top - 10))\" fill=\"#888\" text-anchor=\"middle\">\(history[events[i]].index)</text>\n"
        }
        for (i, lane) in lanes.enumerated() {
            let y = top + Double(i) * laneHeight
            svg += "<text class=\"lane\" x=\"4\" y=\"\(f(y + 15))\">process \(escape(lane.description))</text>\n"
        }
        var named = Set<String>()   // anomaly types already spelled out beside a bar
        for row in rows {
            let y = top + Double(laneOf[row.op.process]!) * laneHeight + 3
            let x0 = x(row.start)
            let x1 = row.end.map { x($0) } ?? (width - 10)
            let w = max(3, x1 - x0)
            let fill: String
            switch row.end == nil ? .info : row.op.type {
            case .fail: fill = "#f7b0c8"
            case .info, .invoke: fill = "#f6c36b"
            case .ok: fill = "#9db8d9"
            }
            let witness = marks[row.start]
            let stroke = witness != nil ? "stroke=\"#d62728\" stroke-width=\"2.5\"" : "stroke=\"#6b7f99\" stroke-width=\"0.5\""
            let title = "index \(row.op.index) (line \(row.op.line)) process \(row.op.process) \(row.op.type.rawValue) \(row.op.f) \(row.op.value)"
                + (witness.map { "\nwitness of: " + $0.sorted().joined(separator: ", ") } ?? "")
            svg += "<g><title>\(escape(String(title.prefix(600))))</title>"
            svg += "<rect x=\"\(f(x0))\" y=\"\(f(y))\" width=\"\(f(w))\" height=\"\(Int(laneHeight - 8))\" rx=\"2\" fill=\"\(fill)\" \(stroke)/>"
            let text = witness != nil ? "\(row.op.index) \(row.text) ⚠ \(witness!.sorted().joined(separator: ","))" : row.text
            let fits = Int(w / 5.5)
            if fits >= 3 {
                let shown = text.count > fits ? String(text.prefix(fits - 1)) + "…" : text
                svg += "<text x=\"\(f(x0 + 3))\" y=\"\(f(y + 12))\" fill=\"\(witness != nil ? "#a00" : "#123")\">\(escape(shown))</text>"
            } else if let witness {
                // Too narrow for its text: a witness still gets its index and anomaly beside the bar,
                // on whichever side has room.
                let fresh = witness.subtracting(named).sorted()
                named.formUnion(witness)
                let tag = fresh.isEmpty ? "\(row.op.index)" : "\(row.op.index): \(fresh.joined(separator: ", "))"
                let after = x0 + w + 3 + Double(tag.count) * 5.5 < width
                svg += "<text x=\"\(f(after ? x0 + w + 3 : x0 - 3))\" y=\"\(f(y + 12))\" fill=\"#a00\" "
                    + "text-anchor=\"\(after ? "start" : "end")\">\(escape(tag))</text>"
            }
            svg += "</g>\n"
        }
        svg += "</svg>\n"
        let title = "\(partition.kind) \(escape(label(partition.key)))" + (highlighted ? " — has anomalies" : "")
        return "<h2>\(title)</h2>\n" + (note.isEmpty ? "" : "<p class=\"note\">\(note)</p>\n") + svg
    }

    /// Clients by number, then named processes (the nemesis) last.
    static func laneOrder(_ a: Process, _ b: Process) -> Bool {
        switch (a, b) {
        case (.client(let x), .client(let y)): return x < y
        case (.client, .named): return true
        case (.named, .client): return false
        case (.named(let x), .named(let y)): return x < y
        }
    }

    // MARK: text helpers

    static func label(_ v: Value) -> String { v.name ?? v.description }

    static func short(_ v: Value) -> String {
        let s = v.description
        return s.count > 120 ? String(s.prefix(117)) + "..." : s
    }

    static func f(_ d: Double) -> String { String(Double(Int(d * 10)) / 10) }

    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// Which operations belong to which partition, per workload, and how to label them briefly.
enum Partitions {
    struct Partition {
        let kind: String
        let key: Value
        /// Invocation positions (or the completion's, for a completion without invoke), in order.
        let invocations: [Int]
        let describe: (Operation) -> String
    }

    static func of(_ report: CheckReport) -> [Partition] {
        let history = report.history ?? .empty(report.source)
        var byKey: [Value: [Int]] = [:]
        var order: [Value] = []
        func add(_ key: Value, _ position: Int) {
            if byKey[key] == nil { order.append(key) }
            byKey[key, default: []].append(position)
        }
        switch report.workload {
        case .kafka:
            let ops = (try? KafkaHistoryDecoder.decode(history)) ?? []
            for op in ops {
                let start = history.invocation(of: op.position) ?? op.position
                var keys: [Int] = op.keys
                op.sends { k, _ in keys.append(k) }
                op.reads { k, _ in keys.append(k) }
                for case .poll(let groups) in op.mops { keys += groups.map(\.key) }
                for k in Set(keys).sorted() { add(.int(k), start) }
            }
            order.sort { ($0.intValue ?? 0) < ($1.intValue ?? 0) }
            return order.map { key in
                Partition(kind: "partition", key: key, invocations: byKey[key]!.sorted(),
                          describe: { describeKafka($0, key: key.intValue ?? 0) })
            }
        case .register, .kv:
            for (p, op) in history.operations.enumerated() where op.type == .invoke && op.process.isClient {
                add(op.key ?? .string("register"), p)
            }
            return order.map { key in
                Partition(kind: "key", key: key, invocations: byKey[key]!, describe: { op in
                    "\(op.f) \(op.value.isNull ? "" : op.value.description)"
                })
            }
        }
    }

    /// "send 17@42", "poll 41-42 (2)", "assign 0,1" — restricted to one key.
    static func describeKafka(_ op: Operation, key: Int) -> String {
        guard let decoded = try? KafkaHistoryDecoder.decode(op, position: 0, type: op.type,
                                                            f: KafkaFunction(rawValue: op.f) ?? .other, file: "") else {
            return op.f
        }
        var parts: [String] = []
        if !decoded.keys.isEmpty { parts.append("\(op.f) " + decoded.keys.map(String.init).joined(separator: ",")) }
        decoded.sends { k, p in if k == key { parts.append("send \(p.value)@\(p.offset.map(String.init) ?? "?")") } }
        var polled: [OffsetValue] = []
        decoded.reads { k, p in if k == key { polled.append(p) } }
        if let a = polled.first, let b = polled.last {
            parts.append("poll \(a.offset.map(String.init) ?? "?")–\(b.offset.map(String.init) ?? "?") (\(polled.count))")
        } else if op.f == "poll" {
            parts.append("poll ∅")
        }
        return parts.joined(separator: "; ")
    }
}
