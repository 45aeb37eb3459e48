import Histogram

/// The figures OMB reports for one latency histogram, divided into the unit OMB reports it in.
///
/// Histograms hold microseconds; `divisor` is 1000 for OMB's milliseconds (publish, end-to-end) and 1 for its
/// microseconds (publish delay). Percentiles follow Java HdrHistogram's `getValueAtPercentile` (the highest value
/// equivalent to the one at that rank), not hdrhistogram-swift's `valueAtPercentile`, which clamps to the largest
/// value recorded: the figures then agree with what OMB itself would write for the same samples. `max` is the
/// highest equivalent value of the largest recorded, as Java's `getMaxValue`; `avg` is `mean`, computed the same
/// way in both.
public struct LatencySummary: Equatable, Sendable {
    public var avg: Double
    public var p50: Double
    public var p75: Double
    public var p95: Double
    public var p99: Double
    public var p999: Double
    public var p9999: Double
    public var max: Double

    public init(_ h: Histogram<UInt64>, divisor: Double) {
        avg = h.mean / divisor
        p50 = Double(Self.valueAtPercentile(h, 50)) / divisor
        p75 = Double(Self.valueAtPercentile(h, 75)) / divisor
        p95 = Double(Self.valueAtPercentile(h, 95)) / divisor
        p99 = Double(Self.valueAtPercentile(h, 99)) / divisor
        p999 = Double(Self.valueAtPercentile(h, 99.9)) / divisor
        p9999 = Double(Self.valueAtPercentile(h, 99.99)) / divisor
        max = Double(h.max) / divisor
    }

    /// Java HdrHistogram's `getValueAtPercentile`: the highest equivalent value of the first value whose cumulative
    /// count reaches the rank (the rank taken one ulp below the percentile, rounded up, at least 1); 0 when empty.
    public static func valueAtPercentile(_ h: Histogram<UInt64>, _ percentile: Double) -> UInt64 {
        let requested = Swift.min(Swift.max(percentile.nextDown, 0), 100)
        let rank = Swift.max(1, UInt64((requested * Double(h.totalCount) / 100).rounded(.up)))
        for step in h.recordedValues() where step.totalCountToThisValue >= rank {
            // `value` is already the highest equivalent value; Java takes the lowest only for percentile 0.
            return percentile == 0 ? h.lowestEquivalentForValue(step.value) : step.value
        }
        return 0
    }

    /// OMB's quantile map: HdrHistogram percentile iteration with 100 ticks per half distance; for each step the
    /// key is the percentile of samples at or below the step's value (`getPercentile()`, which OMB uses, not the
    /// level iterated to) as Java's `Double.toString`, and the value is the step's value over `divisor`. Steps at the
    /// same value share a key, as in OMB's TreeMap.
    public static func quantiles(_ h: Histogram<UInt64>, divisor: Double) -> [String: Double] {
        var map: [String: Double] = [:]
        for step in h.percentiles(ticksPerHalfDistance: 100) {
            map[JavaDouble.string(step.percentile)] = Double(step.value) / divisor
        }
        return map
    }
}

extension TestResult {
    /// Appends one measured period's figures to every series, in OMB's units. Histograms hold microseconds.
    public mutating func appendPeriod(publishRate: Double, publishErrorRate: Double, consumeRate: Double, backlog: Int,
                                      publish: Histogram<UInt64>, publishDelay: Histogram<UInt64>,
                                      endToEnd: Histogram<UInt64>) {
        self.publishRate.append(publishRate)
        self.publishErrorRate.append(publishErrorRate)
        self.consumeRate.append(consumeRate)
        self.backlog.append(backlog)

        let pub = LatencySummary(publish, divisor: 1000)
        publishLatencyAvg.append(pub.avg)
        publishLatency50pct.append(pub.p50)
        publishLatency75pct.append(pub.p75)
        publishLatency95pct.append(pub.p95)
        publishLatency99pct.append(pub.p99)
        publishLatency999pct.append(pub.p999)
        publishLatency9999pct.append(pub.p9999)
        publishLatencyMax.append(pub.max)

        let delay = LatencySummary(publishDelay, divisor: 1)
        publishDelayLatencyAvg.append(delay.avg)
        publishDelayLatency50pct.append(Int(delay.p50))
        publishDelayLatency75pct.append(Int(delay.p75))
        publishDelayLatency95pct.append(Int(delay.p95))
        publishDelayLatency99pct.append(Int(delay.p99))
        publishDelayLatency999pct.append(Int(delay.p999))
        publishDelayLatency9999pct.append(Int(delay.p9999))
        publishDelayLatencyMax.append(Int(delay.max))

        let e2e = LatencySummary(endToEnd, divisor: 1000)
        endToEndLatencyAvg.append(e2e.avg)
        endToEndLatency50pct.append(e2e.p50)
        endToEndLatency75pct.append(e2e.p75)
        endToEndLatency95pct.append(e2e.p95)
        endToEndLatency99pct.append(e2e.p99)
        endToEndLatency999pct.append(e2e.p999)
        endToEndLatency9999pct.append(e2e.p9999)
        endToEndLatencyMax.append(e2e.max)
    }

    /// Sets the whole-run figures and quantile maps from the run's cumulative histograms (microseconds).
    public mutating func setAggregates(publish: Histogram<UInt64>, publishDelay: Histogram<UInt64>,
                                       endToEnd: Histogram<UInt64>) {
        let pub = LatencySummary(publish, divisor: 1000)
        aggregatedPublishLatencyAvg = pub.avg
        aggregatedPublishLatency50pct = pub.p50
        aggregatedPublishLatency75pct = pub.p75
        aggregatedPublishLatency95pct = pub.p95
        aggregatedPublishLatency99pct = pub.p99
        aggregatedPublishLatency999pct = pub.p999
        aggregatedPublishLatency9999pct = pub.p9999
        aggregatedPublishLatencyMax = pub.max

        let delay = LatencySummary(publishDelay, divisor: 1)
        aggregatedPublishDelayLatencyAvg = delay.avg
        aggregatedPublishDelayLatency50pct = Int(delay.p50)
        aggregatedPublishDelayLatency75pct = Int(delay.p75)
        aggregatedPublishDelayLatency95pct = Int(delay.p95)
        aggregatedPublishDelayLatency99pct = Int(delay.p99)
        aggregatedPublishDelayLatency999pct = Int(delay.p999)
        aggregatedPublishDelayLatency9999pct = Int(delay.p9999)
        aggregatedPublishDelayLatencyMax = Int(delay.max)

        let e2e = LatencySummary(endToEnd, divisor: 1000)
        aggregatedEndToEndLatencyAvg = e2e.avg
        aggregatedEndToEndLatency50pct = e2e.p50
        aggregatedEndToEndLatency75pct = e2e.p75
        aggregatedEndToEndLatency95pct = e2e.p95
        aggregatedEndToEndLatency99pct = e2e.p99
        aggregatedEndToEndLatency999pct = e2e.p999
        aggregatedEndToEndLatency9999pct = e2e.p9999
        aggregatedEndToEndLatencyMax = e2e.max

        aggregatedPublishLatencyQuantiles = LatencySummary.quantiles(publish, divisor: 1000)
        aggregatedPublishDelayLatencyQuantiles = LatencySummary.quantiles(publishDelay, divisor: 1)
            .mapValues { Int($0) }
        aggregatedEndToEndLatencyQuantiles = LatencySummary.quantiles(endToEnd, divisor: 1000)
    }
}

/// Java's `Double.toString`, which Jackson uses for OMB's `Map<Double, …>` keys: the shortest decimal that reads
/// back as the same double (as Java 19+ and Swift both choose it), written plainly with at least one fractional
/// digit for 10^-3 <= |x| < 10^7 ("50.0", "99.21875") and as `d.dddE±n` otherwise ("1.0E-4", "1.0E7").
/// (Java 19+ would write a second digit for a few subnormals, where Swift writes one; not a percentile's concern.)
public enum JavaDouble {
    public static func string(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x < 0 ? "-Infinity" : "Infinity" }
        if x == 0 { return x.sign == .minus ? "-0.0" : "0.0" }
        let sign = x < 0 ? "-" : ""
        let (digits, exponent) = decimalDigits(abs(x))
        let magnitude = abs(x)
        if magnitude >= 1e-3, magnitude < 1e7 {
            return sign + plain(digits, exponent)
        }
        let fraction = digits.count > 1 ? String(digits.dropFirst()) : "0"
        return "\(sign)\(digits.first!).\(fraction)E\(exponent)"
    }

    /// The shortest round-tripping significant digits (no leading or trailing zeros) and the power of ten of the
    /// first, taken from Swift's `description`, which prints e.g. "99.21875", "0.0001" or "1e-05".
    static func decimalDigits(_ x: Double) -> (digits: [Character], exponent: Int) {
        let text = x.description
        let parts = text.split(separator: "e")
        var exponent = parts.count == 2 ? Int(parts[1])! : 0
        let mantissa = parts[0]
        let point = mantissa.firstIndex(of: ".") ?? mantissa.endIndex
        exponent += mantissa.distance(from: mantissa.startIndex, to: point) - 1
        var digits = Array(mantissa.filter { $0 != "." })
        while digits.first == "0" {
            digits.removeFirst()
            exponent -= 1
        }
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        return (digits, exponent)
    }

    private static func plain(_ digits: [Character], _ exponent: Int) -> String {
        if exponent < 0 {
            return "0." + String(repeating: "0", count: -exponent - 1) + String(digits)
        }
        let whole = digits.prefix(exponent + 1)
        let padding = String(repeating: "0", count: exponent + 1 - whole.count)
        let fraction = digits.count > exponent + 1 ? String(digits.dropFirst(exponent + 1)) : "0"
        return String(whole) + padding + "." + fraction
    }
}
