#if canImport(Glibc)
import Glibc
#endif

enum Clock {
    /// Wall-clock milliseconds (record timestamps, retention, segment age).
    static func nowMs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// Milliseconds of a clock that only moves forward at its own pace (CLOCK_MONOTONIC): broker sessions, where a
    /// step of the wall clock (NTP, an operator) must neither expire every session at once nor keep a dead one.
    static func monotonicMs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
