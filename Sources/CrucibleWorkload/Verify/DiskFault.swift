/// A disk fault the nemesis gives a node: from now on, every `operation` on a file under the node's directory
/// fails with `error` and changes nothing. The node runs with the project's preload library
/// (`libCrucibleDiskFault.so`), which reads a control file holding `controlLine` (and nothing when healed).
public struct DiskFault: Sendable, Equatable, CustomStringConvertible {
    public enum Operation: String, CaseIterable, Sendable {
        /// write, pwrite, writev, pwritev and ftruncate.
        case write
        /// fsync and fdatasync.
        case fsync
    }

    public enum Failure: String, CaseIterable, Sendable {
        case eio = "EIO", enospc = "ENOSPC"
    }

    public var operation: Operation
    public var error: Failure

    public init(operation: Operation, error: Failure) {
        self.operation = operation
        self.error = error
    }

    /// What the preload library's control file holds while the fault lasts.
    public func controlLine(directory: String) -> String { "\(operation.rawValue) \(error.rawValue) \(directory)\n" }

    public var description: String { "\(operation.rawValue) \(error.rawValue)" }
}
