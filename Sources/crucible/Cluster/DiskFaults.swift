import CrucibleWorkload
import Foundation

/// A node's disk, broken by the nemesis: the node runs with the project's preload library, which fails its writes
/// or fsyncs under the node's directory while the control file in that directory names a fault (re-read every
/// 20 ms). The broker then halts, as a KRaft broker does when its log directory fails.
enum DiskFaults {
    static let libraryName = "libCrucibleDiskFault.so"

    /// The library built beside this executable (`swift build` makes both).
    static var library: String? {
        let candidate = URL(fileURLWithPath: CommandLine.executablePath).deletingLastPathComponent()
            .appendingPathComponent(libraryName).path
        return FileManager.default.fileExists(atPath: candidate) ? candidate : nil
    }

    /// Why nodes cannot have faulty disks here, or nil when they can.
    static func unavailableReason() -> String? {
        library == nil ? "disk faults need \(libraryName) beside the crucible executable (`swift build` builds it)" : nil
    }

    static func controlFile(in nodeDirectory: String) -> String { nodeDirectory + "/disk-fault" }

    /// What a node's environment gains: the preload and where its control file is.
    static func environment(controlFile: String) -> [String] {
        guard let library else { return [] }
        return ["LD_PRELOAD=\(library)", "CRUCIBLE_DISK_FAULT=\(controlFile)"]
    }

    /// Breaks (or, with nil, heals) the disk under `directory` for the node reading `file`.
    static func set(_ fault: DiskFault?, directory: String, file: String) throws {
        let line = fault?.controlLine(directory: URL(fileURLWithPath: directory).resolvingSymlinksInPath().path) ?? ""
        do {
            try Data(line.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            throw ClusterFailure("cannot write the disk fault to \(file): \(error.localizedDescription)")
        }
    }
}
