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
}
