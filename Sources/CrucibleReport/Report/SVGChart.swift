import CrucibleVerify
import Foundation

/// A chart as inline SVG, so a report needs no script and no network: lines or dots over numeric axes, shaded
/// intervals (a nemesis fault, a failover gap) and labelled vertical markers. Every point carries a `<title>`, the
/// browser's own tooltip. `data-chart` names the chart and `data-points` counts what it drew, which is how a test
/// tells a chart that rendered from one that came out empty.
struct SVGChart {
    enum Scale {
        case linear
        case log
        /// HdrHistogram's percentile axis: x is a percentile (0-100) placed at log10(1/(1-p)), so 90, 99, 99.9 and
        /// 99.99 are evenly spaced and the tail gets the room it deserves.
        case percentile
    }

    enum Style { case line, dashed, dots }

    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
        var style: Style = .line
        var color: String? = nil
    }

    struct Band {
        var from: Double
        var to: Double
        var label: String
    }

    var id: String
    var title: String
    var xLabel: String
    var yLabel: String
    var xScale: Scale = .linear
    var yScale: Scale = .linear
    var series: [Series] = []
    var bands: [Band] = []
    /// Where the x axis starts when not at the data's smallest x (time axes start at 0, so charts line up).
    var xStart: Double? = nil
    var width = 860.0
    var height = 280.0

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
    private static let margin = (left: 64.0, right: 36.0, top: 44.0, bottom: 44.0)

    var pointCount: Int { series.reduce(0) { $0 + $1.points.count } }
    /// The points the chart can place on its scales (a log scale has no place for zero).
    var drawablePointCount: Int {
        series.reduce(0) { $0 + $1.points.filter { usable($0.x, xScale) && usable($0.y, yScale) }.count }
    }

    func render() -> String {
        let plotted = series.map { s in Series(name: s.name, points: s.points.filter { usable($0.x, xScale) && usable($0.y, yScale) },
                                               style: s.style, color: s.color) }
        let drawn = plotted.reduce(0) { $0 + $1.points.count }
        var svg = "<figure class=\"chart\"><svg class=\"chart\" data-chart=\"\(esc(id))\" data-points=\"\(drawn)\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" "
            + "aria-label=\"\(esc(title))\" xmlns=\"http://www.w3.org/2000/svg\">"
        svg += "<text class=\"title\" x=\"\(Self.margin.left)\" y=\"18\">\(esc(title))</text>"
        guard drawn > 0 else {
            return svg + "<text x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\" fill=\"#888\">no data</text></svg></figure>"
        }
        let xs = plotted.flatMap { $0.points.map(\.x) } + bands.flatMap { [$0.from, $0.to] }.filter { usable($0, xScale) }
        let ys = plotted.flatMap { $0.points.map(\.y) }
        let xAxis = Axis(scale: xScale, low: min(xStart ?? xs.min()!, xs.min()!), high: xs.max()!, from: Self.margin.left, to: width - Self.margin.right)
        let yAxis = Axis(scale: yScale, low: yScale == .linear ? min(0, ys.min()!) : ys.min()!, high: ys.max()!,
                         from: height - Self.margin.bottom, to: Self.margin.top)
        svg += grid(xAxis, yAxis)
        for band in bands {
            let x0 = xAxis.position(max(band.from, xAxis.low)), x1 = xAxis.position(min(band.to, xAxis.high))
            svg += "<rect class=\"band\" x=\"\(f(x0))\" y=\"\(f(Self.margin.top))\" width=\"\(f(max(x1 - x0, 1.5)))\" "
                + "height=\"\(f(height - Self.margin.top - Self.margin.bottom))\"><title>\(esc(band.label))</title></rect>"
                + "<text class=\"band-label\" x=\"\(f(x0 + 2))\" y=\"\(f(Self.margin.top + 10))\">\(esc(band.label))</text>"
        }
        for (index, s) in plotted.enumerated() where !s.points.isEmpty {
            let color = s.color ?? Self.palette[index % Self.palette.count]
            switch s.style {
            case .line, .dashed:
                let path = s.points.map { "\(f(xAxis.position($0.x))),\(f(yAxis.position($0.y)))" }.joined(separator: " ")
                svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\"\(s.style == .dashed ? " stroke-dasharray=\"5 3\"" : "") "
                    + "points=\"\(path)\"><title>\(esc(s.name))</title></polyline>"
            case .dots:
                svg += "<g fill=\"\(color)\" fill-opacity=\"0.55\">"
                for p in s.points {
                    svg += "<circle cx=\"\(f(xAxis.position(p.x)))\" cy=\"\(f(yAxis.position(p.y)))\" r=\"1.8\"/>"
                }
                svg += "</g>"
            }
        }
        svg += legend(plotted)
        svg += "<text class=\"axis-label\" x=\"\(f((Self.margin.left + width - Self.margin.right) / 2))\" y=\"\(f(height - 6))\" "
            + "text-anchor=\"middle\">\(esc(xLabel))</text>"
        svg += "<text class=\"axis-label\" transform=\"translate(14 \(f(height / 2))) rotate(-90)\" text-anchor=\"middle\">\(esc(yLabel))</text>"
        return svg + "</svg></figure>"
    }

    private func usable(_ value: Double, _ scale: Scale) -> Bool {
        guard value.isFinite else { return false }
        switch scale {
        case .linear: return true
        case .log: return value > 0
        case .percentile: return value >= 0 && value < 100
        }
    }

    private func grid(_ x: Axis, _ y: Axis) -> String {
        var svg = "<g class=\"grid\">"
        for tick in x.ticks() {
            let px = f(x.position(tick.value))
            svg += "<line x1=\"\(px)\" x2=\"\(px)\" y1=\"\(f(Self.margin.top))\" y2=\"\(f(height - Self.margin.bottom))\"/>"
                + "<text x=\"\(px)\" y=\"\(f(height - Self.margin.bottom + 14))\" text-anchor=\"middle\">\(tick.label)</text>"
        }
        for tick in y.ticks() {
            let py = f(y.position(tick.value))
            svg += "<line x1=\"\(f(Self.margin.left))\" x2=\"\(f(width - Self.margin.right))\" y1=\"\(py)\" y2=\"\(py)\"/>"
                + "<text x=\"\(f(Self.margin.left - 4))\" y=\"\(py)\" dy=\"3\" text-anchor=\"end\">\(tick.label)</text>"
        }
        return svg + "</g>"
    }

    private func legend(_ plotted: [Series]) -> String {
        var svg = "<g class=\"legend\">"
        var x = width - Self.margin.right
        for (index, s) in plotted.enumerated().reversed() where !s.points.isEmpty {
            let color = s.color ?? Self.palette[index % Self.palette.count]
            let textWidth = Double(s.name.count) * 6.2
            x -= textWidth + 22
            svg += "<rect x=\"\(f(x))\" y=\"27\" width=\"12\" height=\"4\" fill=\"\(color)\"/>"
                + "<text x=\"\(f(x + 16))\" y=\"33\">\(esc(s.name))</text>"
        }
        return svg + "</g>"
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }
    private func esc(_ text: String) -> String { HTMLView.escape(text) }
}

/// One axis: maps values to pixels and picks round ticks.
struct Axis {
    let scale: SVGChart.Scale
    let low: Double
    let high: Double
    let from: Double
    let to: Double

    init(scale: SVGChart.Scale, low: Double, high: Double, from: Double, to: Double) {
        self.scale = scale
        self.from = from
        self.to = to
        switch scale {
        case .linear:
            let span = high - low
            self.low = low
            self.high = span > 0 ? high + span * 0.04 : low + 1
        case .log:
            self.low = pow(10, floor(log10(low)))
            self.high = max(pow(10, ceil(log10(high))), self.low * 10)
        case .percentile:
            self.low = 0
            self.high = 100 - 100 / pow(10, max(2, ceil(Self.nines(high) - 1e-6)))
        }
    }

    /// log10(1/(1-p)): 90% -> 1, 99% -> 2, 99.9% -> 3.
    static func nines(_ percentile: Double) -> Double { log10(1 / (1 - percentile / 100)) }

    private func unit(_ value: Double) -> Double {
        switch scale {
        case .linear: return (value - low) / (high - low)
        case .log: return (log10(value) - log10(low)) / (log10(high) - log10(low))
        case .percentile: return Self.nines(value) / Self.nines(high)
        }
    }

    func position(_ value: Double) -> Double { from + (to - from) * min(max(unit(value), 0), 1) }

    func ticks() -> [(value: Double, label: String)] {
        switch scale {
        case .linear:
            let raw = (high - low) / 5
            let magnitude = pow(10, floor(log10(raw)))
            let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
            var values: [Double] = []
            var value = ceil(low / step) * step
            while value <= high + step * 1e-9 { values.append(value); value += step }
            return values.map { ($0, Self.label($0)) }
        case .log:
            var values: [Double] = []
            var value = low
            while value <= high * 1.0001 { values.append(value); value *= 10 }
            return values.map { ($0, Self.label($0)) }
        case .percentile:
            let top = Int(Self.nines(high).rounded())
            return (0...top).map { n in
                let p = 100 - 100 / pow(10, Double(n))
                return (p, n == 0 ? "0%" : String(format: "%.\(max(n - 2, 0))f%%", p))
            }
        }
    }

    static func label(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1_000_000 { return String(format: "%gM", value / 1_000_000) }
        if magnitude >= 10_000 { return String(format: "%gk", value / 1_000) }
        return String(format: "%g", value)
    }
}
