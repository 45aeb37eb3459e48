import Histogram

/// The latency histograms every measurement uses, in microseconds with three significant digits, capped where
/// OMB caps them (publish 60 s, end-to-end 12 h). A value above the cap is recorded at the cap, as OMB clamps,
/// rather than dropped: a stall must never vanish from the maximum.
public enum LatencyHistograms {
    public static let publishCapMicros: UInt64 = 60_000_000
    public static let endToEndCapMicros: UInt64 = 12 * 3_600 * 1_000_000

    public static func publish() -> Histogram<UInt64> {
        Histogram(lowestDiscernibleValue: 1, highestTrackableValue: publishCapMicros, numberOfSignificantValueDigits: .three)
    }

    public static func endToEnd() -> Histogram<UInt64> {
        Histogram(lowestDiscernibleValue: 1, highestTrackableValue: endToEndCapMicros, numberOfSignificantValueDigits: .three)
    }
}

extension Histogram where Count == UInt64 {
    /// Records `micros`, clamped into the histogram's range (negative values, from clock steps, count as 0).
    @inline(__always) public mutating func recordClamped(_ micros: Int64) {
        let value = micros <= 0 ? 0 : Swift.min(UInt64(micros), highestTrackableValue)
        _ = record(value)
    }
}
