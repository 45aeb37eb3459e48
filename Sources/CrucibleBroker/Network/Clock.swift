#if canImport(Glibc)
import Glibc
#endif

enum Clock {
    /// Wall-clock milliseconds (record timestamps, retention, segment age).
    static func nowMs() -> Int64 { milliseconds(of: CLOCK_REALTIME) }

    /// Milliseconds of a clock that only moves forward at its own pace (CLOCK_MONOTONIC): broker sessions, where a
    /// step of the wall clock (NTP, an operator) must neither expire every session at once nor keep a dead one.
    static func monotonicMs() -> Int64 { milliseconds(of: CLOCK_MONOTONIC) }

    private static func milliseconds(of clock: clockid_t) -> Int64 {
        var now = timespec()
        clock_gettime(clock, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
