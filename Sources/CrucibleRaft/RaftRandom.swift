// Randomness is injected so that a simulator can replay a whole cluster from one seed.

/// A source of random 64-bit words. The core draws election timeouts and backoffs from it.
public protocol RaftRandomSource {
    mutating func next() -> UInt64
}

extension RaftRandomSource {
    /// A uniform value in `range` (the modulo bias is negligible for timeouts).
    public mutating func next(in range: Range<Int64>) -> Int64 {
        precondition(!range.isEmpty)
        let width = UInt64(range.upperBound - range.lowerBound)
        return range.lowerBound + Int64(next() % width)
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool {
        Double(next() >> 11) / Double(1 << 53) < p
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and the same on every platform, so a seed printed by a
/// failing simulation replays anywhere.
public struct SplitMix64: RaftRandomSource, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
