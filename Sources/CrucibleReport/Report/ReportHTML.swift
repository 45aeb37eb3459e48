import CrucibleVerify
import Foundation

/// The small pieces every section of a report is built from: escaped text, tables, figures, numbers.
enum ReportHTML {
    static func esc(_ text: String) -> String { HTMLView.escape(text) }

    /// Cells are HTML already (callers escape text with `esc`); `marks` gives a row a class (`bad`, `good`).
    /// The first `textColumns` columns are text (left-aligned, may wrap); the rest are figures.
    static func table(_ headers: [String], _ rows: [[String]], marks: [String?] = [], textColumns: Int = 1) -> String {
        func cell(_ tag: String, _ column: Int, _ content: String) -> String {
            column < textColumns ? "<\(tag) class=\"text\">\(content)</\(tag)>" : "<\(tag)>\(content)</\(tag)>"
        }
        var html = "<table><thead><tr>" + headers.enumerated().map { cell("th", $0, esc($1)) }.joined() + "</tr></thead><tbody>"
        for (index, row) in rows.enumerated() {
            let mark = index < marks.count ? marks[index] : nil
            html += "<tr\(mark.map { " class=\"\($0)\"" } ?? "")>" + row.enumerated().map { cell("td", $0, $1) }.joined() + "</tr>"
        }
        return html + "</tbody></table>"
    }

    static func number(_ value: Double?, digits: Int = 1) -> String {
        guard let value, value.isFinite else { return "–" }
        if abs(value) >= 10_000 { return formatted(value, digits: 0) }
        return formatted(value, digits: abs(value) >= 100 ? min(digits, 1) : max(digits, abs(value) < 1 ? 3 : 2))
    }

    /// One formatter per digit count, made once: a report formats thousands of cells.
    nonisolated(unsafe) private static let formatters: [NumberFormatter] = (0...6).map { digits in
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.usesGroupingSeparator = true
        formatter.groupingSeparator = ","
        formatter.minimumFractionDigits = 0
        formatter.maximumFractionDigits = digits
        return formatter
    }

    static func formatted(_ value: Double, digits: Int) -> String {
        formatters[min(max(digits, 0), 6)].string(from: NSNumber(value: value)) ?? String(value)
    }

    static func percent(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return String(format: value < 0.1 ? "%.2f%%" : "%.1f%%", value * 100)
    }

    static func bytesPerSecond(_ value: Double?) -> String {
        guard let value else { return "–" }
        return number(value / 1_000_000) + " MB/s"
    }

    /// A horizontal bar per label: compression ratios, lost writes per run.
    static func bars(id: String, title: String, unit: String, _ items: [(label: String, value: Double)]) -> String {
        let rowHeight = 20.0, labelWidth = 300.0, width = 860.0
        let height = 34 + rowHeight * Double(items.count)
        let top = max(items.map(\.value).max() ?? 0, 1e-9)
        var svg = "<figure class=\"chart\"><svg class=\"chart\" data-chart=\"\(esc(id))\" data-points=\"\(items.count)\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" "
            + "aria-label=\"\(esc(title))\" xmlns=\"http://www.w3.org/2000/svg\">"
            + "<text class=\"title\" x=\"4\" y=\"18\">\(esc(title))</text>"
        for (index, item) in items.enumerated() {
            let y = 28 + rowHeight * Double(index)
            let length = (width - labelWidth - 90) * max(item.value, 0) / top
            svg += "<text x=\"\(labelWidth - 6)\" y=\"\(y + 13)\" text-anchor=\"end\">\(esc(item.label))</text>"
                + "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(String(format: "%.1f", max(length, 1)))\" height=\"\(rowHeight - 6)\" "
                + "fill=\"\(SVGChart.palette[0])\"><title>\(esc(item.label)): \(number(item.value)) \(esc(unit))</title></rect>"
                + "<text x=\"\(String(format: "%.1f", labelWidth + length + 6))\" y=\"\(y + 13)\">\(number(item.value)) \(esc(unit))</text>"
        }
        return svg + "</svg></figure>"
    }

    /// Every chart in a section; the caption says what a reader is looking at.
    static func figure(_ chart: String, caption: String) -> String {
        chart.replacingOccurrences(of: "</svg></figure>", with: "</svg><figcaption>\(esc(caption))</figcaption></figure>")
    }

    static let style = """
    body{font:14px/1.45 system-ui,-apple-system,"DejaVu Sans",sans-serif;color:#222;margin:0;background:#fafafa}
    main{max-width:1180px;margin:0 auto;padding:12px 28px 60px}
    h1{font-size:24px;margin:18px 0 4px}h2{font-size:20px;margin:34px 0 8px;border-bottom:2px solid #ddd;padding-bottom:4px}
    h3{font-size:16px;margin:22px 0 6px}h4{font-size:14px;margin:14px 0 4px;color:#444}
    nav a{margin-right:14px}.muted{color:#666}
    table{border-collapse:collapse;margin:6px 0 12px;background:#fff;font-size:13px}
    th,td{border:1px solid #ddd;padding:3px 8px;text-align:right;white-space:nowrap}
    th{background:#f0f0f0}td.text,th.text{text-align:left;white-space:normal;max-width:340px}
    tr.bad td{background:#fde8e8}tr.good td{background:#e8f6e8}
    .verdict{display:inline-block;padding:6px 12px;border-radius:6px;font-weight:bold;margin:4px 8px 4px 0}
    .pass{background:#dff3df;color:#135c13}.fail{background:#fbdcdc;color:#8a1010}.warn{background:#fff1cc;color:#6b4e00}
    figure.chart{margin:8px 0 16px;background:#fff;border:1px solid #e2e2e2;display:inline-block}
    figcaption{font-size:12px;color:#555;padding:2px 8px 6px;max-width:840px}
    svg.chart text{font-size:11px;fill:#333}svg.chart .title{font-size:13px;font-weight:bold}
    svg.chart .grid line{stroke:#eee}svg.chart .axis-label{fill:#555}
    svg.chart .band{fill:#f4a261;fill-opacity:.22}svg.chart .band-label{fill:#9a5a1c;font-size:10px}
    code,pre{font-family:"DejaVu Sans Mono",monospace;font-size:12px}pre{background:#fff;border:1px solid #e2e2e2;padding:6px;overflow:auto}
    """
}
