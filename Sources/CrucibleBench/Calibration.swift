#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// This machine's limits, measured in the same run as the benchmark, so that a result can say how close a broker
/// came to the hardware (and so that runs on unequal machines are not compared blindly: OMB issue 78).
///
/// Why these four: a produce with `acks=1` on Linux is bounded by writes into *fresh* page-cache pages (a log
/// only ever appends; the kernel allocates, zeroes and accounts each new page, and the filesystem allocates
/// blocks), which are far slower than overwriting pages already cached; a log that syncs every batch is bounded
/// by the disk's synchronous write rate; and every byte crosses loopback TCP twice (producer in, consumer out).
public struct Calibration: Codable, Equatable, Sendable {
    /// iperf3 over 127.0.0.1, the receiver's figure; nil when iperf3 is missing or failed (see `notes`).
    public var loopbackBytesPerSecond: Double?
    /// Appending 1 MiB writes to a new file with `fdatasync` after each, as a log that syncs every batch does.
    public var diskFdatasyncBytesPerSecond: Double?
    /// 1 MiB `pwrite`s extending a new file, no sync: every page is newly allocated.
    public var pageCacheFreshBytesPerSecond: Double?
    /// 1 MiB `pwrite`s over a 64 MiB region written before: pages already cached.
    public var pageCacheReusedBytesPerSecond: Double?
    public var details: [Detail] = []
    public var notes: [String] = []

    /// How one figure was obtained.
    public struct Detail: Codable, Equatable, Sendable {
        public var name: String
        public var bytes: Int64
        public var seconds: Double
        public var method: String
    }

    public init() {}

    /// Takes about `seconds` in all (iperf3 gets 30% of it, at most 3 s). `directory` should be on the broker's
    /// data filesystem; the files written there are deleted. Never throws: a figure that could not be measured is
    /// nil and explained in `notes`.
    public static func measure(directory: String, seconds: Double = 10,
                               progress: (String) -> Void = { _ in }) -> Calibration {
        var calibration = Calibration()
        let loopbackSeconds = Int(min(3, max(1, (seconds * 0.3).rounded())))
        calibration.measureLoopback(seconds: loopbackSeconds)
        progress("loopback TCP (iperf3): \(format(calibration.loopbackBytesPerSecond))")

        let disk = DiskProbe(directory: directory)
        calibration.record("disk fdatasync", \.diskFdatasyncBytesPerSecond, progress) {
            try disk.appendWithSync(bytesMax: 256 << 20, secondsMax: seconds * 0.25)
        }
        calibration.record("page cache, reused pages", \.pageCacheReusedBytesPerSecond, progress) {
            try disk.overwrite(regionBytes: 64 << 20, bytesMax: 4 << 30, secondsMax: seconds * 0.1)
        }
        calibration.record("page cache, fresh pages", \.pageCacheFreshBytesPerSecond, progress) {
            try disk.extendFresh(bytesMax: 1 << 30, secondsMax: seconds * 0.25)
        }
        return calibration
    }

    private mutating func record(_ name: String, _ figure: WritableKeyPath<Calibration, Double?>,
                                 _ progress: (String) -> Void, _ probe: () throws -> DiskProbe.Result) {
        do {
            let result = try probe()
            self[keyPath: figure] = Double(result.bytes) / result.seconds
            details.append(Detail(name: name, bytes: result.bytes, seconds: result.seconds, method: result.method))
        } catch {
            notes.append("\(name) not measured: \(error)")
        }
        progress("\(name): \(Self.format(self[keyPath: figure]))")
    }

    static func format(_ bytesPerSecond: Double?) -> String {
        guard let bytesPerSecond else { return "not measured" }
        return "\(Int((bytesPerSecond / 1e6).rounded())) MB/s"
    }
}

extension Calibration {
    /// Timed writes in one directory, each into its own file that is deleted afterwards.
    struct DiskProbe {
        struct Result { var bytes: Int64; var seconds: Double; var method: String }
        struct Failure: Error, CustomStringConvertible { var description: String }

        let directory: String
        static let chunkBytes = 1 << 20
        /// Random bytes, so that a compressing filesystem cannot flatter the figures.
        private let chunk: [UInt8] = {
            var generator = SystemRandomNumberGenerator()
            var bytes = [UInt8](repeating: 0, count: DiskProbe.chunkBytes)
            bytes.withUnsafeMutableBytes { raw in
                for offset in stride(from: 0, to: raw.count, by: 8) {
                    raw.storeBytes(of: generator.next(), toByteOffset: offset, as: UInt64.self)
                }
            }
            return bytes
        }()

        func appendWithSync(bytesMax: Int64, secondsMax: Double) throws -> Result {
            try withFile("fdatasync") { fd in
                let (bytes, seconds) = try timedWrites(fd, bytesMax: bytesMax, secondsMax: secondsMax) { offset in
                    offset
                } afterEach: {
                    #if os(Linux)
                    guard fdatasync(fd) == 0 else { throw Failure(description: "fdatasync: \(errnoText())") }
                    #else
                    guard fsync(fd) == 0 else { throw Failure(description: "fsync: \(errnoText())") }
                    #endif
                }
                return Result(bytes: bytes, seconds: seconds,
                              method: "1 MiB appends to a new file, fdatasync after each")
            }
        }

        func overwrite(regionBytes: Int64, bytesMax: Int64, secondsMax: Double) throws -> Result {
            try withFile("reused") { fd in
                // Bring the region into the page cache first, untimed.
                _ = try timedWrites(fd, bytesMax: regionBytes, secondsMax: .infinity) { $0 }
                let (bytes, seconds) = try timedWrites(fd, bytesMax: bytesMax, secondsMax: secondsMax) { offset in
                    offset % regionBytes
                }
                return Result(bytes: bytes, seconds: seconds,
                              method: "1 MiB pwrites cycling over a \(regionBytes >> 20) MiB region already cached")
            }
        }

        func extendFresh(bytesMax: Int64, secondsMax: Double) throws -> Result {
            try withFile("fresh") { fd in
                let (bytes, seconds) = try timedWrites(fd, bytesMax: bytesMax, secondsMax: secondsMax) { $0 }
                return Result(bytes: bytes, seconds: seconds, method: "1 MiB pwrites extending a new file, no sync")
            }
        }

        /// Writes chunks at `position(bytesWrittenSoFar)` until `bytesMax` or `secondsMax` (at least 8 chunks, so a
        /// tiny budget still measures something). Deleting the file afterwards drops its dirty pages unwritten.
        private func timedWrites(_ fd: Int32, bytesMax: Int64, secondsMax: Double, position: (Int64) -> Int64,
                                 afterEach: () throws -> Void = {}) throws -> (Int64, Double) {
            let start = monotonicSeconds()
            var written: Int64 = 0
            try chunk.withUnsafeBytes { buffer in
                while written < bytesMax
                    && (written < 8 * Int64(Self.chunkBytes) || monotonicSeconds() - start < secondsMax) {
                    var done = 0
                    while done < buffer.count {
                        let n = pwrite(fd, buffer.baseAddress! + done, buffer.count - done,
                                       off_t(position(written) + Int64(done)))
                        guard n > 0 else { throw Failure(description: "pwrite: \(errnoText())") }
                        done += n
                    }
                    try afterEach()
                    written += Int64(buffer.count)
                }
            }
            return (written, max(monotonicSeconds() - start, 1e-9))
        }

        private func withFile<T>(_ name: String, _ body: (Int32) throws -> T) throws -> T {
            let path = "\(directory)/.crucible-calibration-\(getpid())-\(name)"
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard fd >= 0 else { throw Failure(description: "open \(path): \(errnoText())") }
            defer { close(fd); unlink(path) }
            return try body(fd)
        }
    }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
