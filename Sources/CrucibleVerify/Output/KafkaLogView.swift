// Jepsen's per-key order view: one row per operation, one column per offset, a cell saying what the
// operation wrote ("w") or read ("r") there. Where the log disagrees with itself, or a message is
// missing from reads, it shows as a column that does not line up. Drawn around the witnesses.

enum KafkaLogView {
    static let maxOffsets = 40
    static let maxRows = 40

    static func render(_ partition: Partitions.Partition, history: History, marks: [Int: Set<String>]) -> String {
        guard let key = partition.key.intValue else { return "" }
        struct Row { let start: Int; let op: Operation; var cells: [(offset: Int, text: String)] }
        var rows: [Row] = []
        for start in partition.invocations {
            let position = history.completion(of: start) ?? start
            let op = history[position]
            guard op.type != .invoke || history.completion(of: start) == nil,
                  let f = KafkaFunction(rawValue: op.f),
                  let decoded = try? KafkaHistoryDecoder.decode(op, position: position, type: op.type, f: f, file: "") else { continue }
            var cells: [(offset: Int, text: String)] = []
            decoded.sends { k, p in if k == key, let o = p.offset { cells.append((o, "w\(p.value)")) } }
            decoded.reads { k, p in if k == key, let o = p.offset { cells.append((o, "r\(p.value)")) } }
            if !cells.isEmpty { rows.append(Row(start: start, op: op, cells: cells)) }
        }
        // Offsets around the witnesses: the span their cells cover, widened to at most maxOffsets.
        let witnessOffsets = rows.filter { marks[$0.start] != nil }.flatMap { $0.cells.map(\.offset) }
        guard let lo = witnessOffsets.min(), let hi = witnessOffsets.max() else { return "" }
        let allOffsets = Set(rows.flatMap { $0.cells.map(\.offset) }).sorted()
        var window = allOffsets.filter { $0 >= lo && $0 <= hi }
        if window.count > maxOffsets { window = Array(window.prefix(maxOffsets)) }
        let inWindow = Set(window)
        var shown = rows.compactMap { row -> Row? in
            let cells = row.cells.filter { inWindow.contains($0.offset) }
            return cells.isEmpty ? nil : Row(start: row.start, op: row.op, cells: cells)
        }
        if shown.count > maxRows {
            // Keep the witnesses, then as many others as fit, in history order.
            let keep = Set(shown.filter { marks[$0.start] != nil }.map(\.start))
            var budget = maxRows - keep.count
            shown = shown.filter { keep.contains($0.start) || { budget -= 1; return budget >= 0 }() }
        }
        guard !shown.isEmpty else { return "" }
        // Values seen at each offset: more than one is an inconsistent offset, coloured.
        var valuesAt: [Int: Set<String>] = [:]
        for row in rows { for c in row.cells where inWindow.contains(c.offset) { valuesAt[c.offset, default: []].insert(String(c.text.dropFirst())) } }

        let colWidth = 34.0, rowHeight = 16.0, left = 150.0, top = 18.0
        let column = Dictionary(uniqueKeysWithValues: window.enumerated().map { ($1, $0) })
        let width = left + Double(window.count) * colWidth + 10
        let height = top + Double(shown.count) * rowHeight + 6
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\">\n"
        for (o, i) in column {
            svg += "<text x=\"\(HTMLView.f(left + Double(i) * colWidth + 2))\" y=\"12\" fill=\"#888\">@\(o)</text>"
        }
        for (r, row) in shown.enumerated() {
            let y = top + Double(r) * rowHeight
            let witness = marks[row.start]
            let label = "\(row.op.index) p\(row.op.process) \(row.op.type.rawValue) \(row.op.f)"
            svg += "<text x=\"4\" y=\"\(HTMLView.f(y + 12))\" fill=\"\(witness != nil ? "#a00" : "#444")\"\(witness != nil ? " font-weight=\"bold\"" : "")>"
                + "\(HTMLView.escape(label))</text>"
            for c in row.cells {
                guard let i = column[c.offset] else { continue }
                let x = left + Double(i) * colWidth
                let conflict = (valuesAt[c.offset]?.count ?? 0) > 1
                let fill = conflict ? "#f4a6a6" : (c.text.hasPrefix("w") ? "#dbe8f6" : "#eef4e4")
                svg += "<rect x=\"\(HTMLView.f(x))\" y=\"\(HTMLView.f(y + 1))\" width=\"\(Int(colWidth - 2))\" height=\"\(Int(rowHeight - 2))\" fill=\"\(fill)\""
                    + (witness != nil ? " stroke=\"#d62728\" stroke-width=\"1.5\"" : "") + "/>"
                svg += "<text x=\"\(HTMLView.f(x + 2))\" y=\"\(HTMLView.f(y + 12))\">\(HTMLView.escape(c.text))</text>"
            }
        }
        svg += "</svg>\n"
        return "<p class=\"note\">Partition \(key) by offset around the witnesses: w = sent, r = polled; red cells: offsets "
            + "with more than one value; rows of witnesses in red.</p>\n" + svg
    }
}
