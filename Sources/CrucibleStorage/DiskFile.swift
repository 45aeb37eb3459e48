#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import NIOCore

public struct StorageError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }

    public static func errno(_ what: String, _ path: String) -> StorageError {
        StorageError("\(what) \(path): \(String(cString: strerror(Glibc.errno)))")
    }
}

/// What happens when a write, truncate or fsync fails. Kafka takes the failed log directory offline, and a KRaft
/// broker whose log directory fails halts (Kafka before 3.7, without JBOD in KRaft; each Crucible node has one
/// data directory, which also holds its metadata log, so it always halts): nothing it wrote after the failure may
/// be trusted, and its partitions must be led elsewhere. The broker process installs a handler that halts; until
/// one is installed (tools, tests, brokers inside a test process) a failure only throws.
public enum DiskFailure {
    private static let handler = NIOLockedValueBox<(@Sendable (String) -> Void)?>(nil)

    public static func onFailure(_ body: (@Sendable (String) -> Void)?) { handler.withLockedValue { $0 = body } }

    /// Tells the handler, then hands the error back to be thrown.
    static func report(_ error: StorageError) -> StorageError {
        handler.withLockedValue { $0 }?(error.description)
        return error
    }
}

/// An open file with an explicit position for appends. Shared by reference so that a fetch holding a slice keeps
/// the descriptor open even if retention deletes the segment meanwhile; the descriptor closes with the last owner.
public final class DiskFile: @unchecked Sendable {
    public let path: String
    public let descriptor: Int32
    /// Bytes in the file; appends go here. Mutated only under the owning log's lock.
    public private(set) var size: Int

    public init(path: String, create: Bool) throws {
        self.path = path
        let fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0o644)
        guard fd >= 0 else { throw StorageError.errno("cannot open", path) }
        descriptor = fd
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw StorageError.errno("cannot stat", path)
        }
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        var written = 0
        while written < bytes.count {
            let n = pwrite(descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(size + written))
            if n < 0 {
                if errno == EINTR { continue }
                throw DiskFailure.report(.errno("cannot write", path))
            }
            written += n
        }
        size += written
    }

    public func append(_ buffer: ByteBuffer) throws {
        try buffer.withUnsafeReadableBytes { try append($0) }
    }

    /// Reads up to `count` bytes at `position` (fewer at the end of the file).
    public func read(at position: Int, count: Int) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { out -> Int in
            var done = 0
            while done < count {
                let n = pread(descriptor, out.baseAddress! + done, count - done, off_t(position + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw StorageError.errno("cannot read", path)
                }
                if n == 0 { break }
                done += n
            }
            return done
        }
        return buffer
    }

    public func truncate(to length: Int) throws {
        guard ftruncate(descriptor, off_t(length)) == 0 else { throw DiskFailure.report(.errno("cannot truncate", path)) }
        size = length
    }

    public func sync() throws {
        guard fsync(descriptor) == 0 else { throw DiskFailure.report(.errno("cannot fsync", path)) }
    }
}

/// Small file-system helpers the storage layers share (the metadata quorum keeps its state files with them).
public enum FileSystem {
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    public static func makeDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw StorageError.errno("cannot create", prefix) }
        }
    }

    public static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw StorageError.errno("cannot list", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw StorageError.errno("cannot delete", path) }
    }

    public static func removeTree(_ path: String) throws {
        if isDirectory(path) {
            for name in try list(path) { try removeTree(path + "/" + name) }
            guard rmdir(path) == 0 else { throw StorageError.errno("cannot delete", path) }
        } else {
            try remove(path)
        }
    }

    public static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw StorageError.errno("cannot rename", from) }
    }

    /// Writes a small file atomically: temp file, fsync, rename. With `syncDirectory` the rename itself is made
    /// durable too (the metadata quorum's state must survive a power loss, not only a crash).
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], syncDirectory: Bool = false) throws {
        let temp = path + ".tmp"
        try? remove(temp)
        let file = try DiskFile(path: temp, create: true)
        try file.truncate(to: 0)
        try bytes.withUnsafeBytes { try file.append($0) }
        try file.sync()
        try rename(temp, path)
        if syncDirectory { try Self.syncDirectory(containing: path) }
    }

    /// Makes a rename or a new file in the directory durable (the directory entry itself is fsynced).
    public static func syncDirectory(containing path: String) throws {
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY)
        guard descriptor >= 0 else { throw StorageError.errno("cannot open", directory) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw DiskFailure.report(.errno("cannot fsync", directory)) }
    }

    public static func readAll(_ path: String) throws -> [UInt8] {
        let file = try DiskFile(path: path, create: false)
        let buffer = try file.read(at: 0, count: file.size)
        return Array(buffer.readableBytesView)
    }
}
