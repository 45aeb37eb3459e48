import CrucibleMetrics
import Foundation

/// A node's wall clock, moved by the nemesis: the node runs with Debian's libfaketime preloaded, which reads the
/// clock's offset from a file in the node's directory, re-read at every wall-clock read (`FAKETIME_NO_CACHE`: about
/// 6 µs a read here, against 0.7 µs cached; libfaketime's cache lasts a whole second at least, too long for a
/// strobe flipping every 100 ms, and it made a bump land up to a second late). Only the wall clock moves:
/// CLOCK_MONOTONIC stays true (`DONT_FAKE_MONOTONIC`), as when an NTP step or an operator moves a machine's date.
enum FakeClock {
    /// libfaketime's thread-safe build, where Debian puts it for this machine's architecture.
    static var library: String? {
        let roots = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib")) ?? []
        return roots.map { "/usr/lib/\($0)/faketime/libfaketimeMT.so.1" }
            .first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Why nodes cannot have moving clocks here, or nil when they can.
    static func unavailableReason() -> String? {
        library == nil ? "clock faults need libfaketime (Debian's libfaketime; Scripts/setup.sh installs it)" : nil
    }

    static func file(in nodeDirectory: String) -> String { nodeDirectory + "/faketime" }

    /// What a node's environment gains: the preload and where its offset is. libfaketime cannot start beside
    /// jemalloc (jemalloc reads the clock while it starts, inside libfaketime's own start, which gives up), so such
    /// a node also preloads, first, the project's library handing malloc to glibc's allocator.
    static func environment(offsetFile: String) -> [String] {
        guard let library else { return [] }
        let glibcMalloc = URL(fileURLWithPath: CommandLine.executablePath).deletingLastPathComponent()
            .appendingPathComponent("libCrucibleGlibcMalloc.so").path
        let preload = AllocatorStatistics.isJemalloc && FileManager.default.fileExists(atPath: glibcMalloc)
            ? "\(glibcMalloc):\(library)" : library
        return ["LD_PRELOAD=\(preload)", "FAKETIME_TIMESTAMP_FILE=\(offsetFile)", "FAKETIME_NO_CACHE=1",
                "DONT_FAKE_MONOTONIC=1"]
    }

    /// Sets the node's wall clock `seconds` away from true time (0 resets it).
    static func set(offsetSeconds seconds: Int, file: String) throws {
        do {
            try Data((seconds >= 0 ? "+\(seconds)\n" : "\(seconds)\n").utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            throw ClusterFailure("cannot set the clock offset in \(file): \(error.localizedDescription)")
        }
    }
}
