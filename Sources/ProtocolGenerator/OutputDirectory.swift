import Foundation

/// A directory owned by the generator: every `.swift` file below it is generated.
struct OutputDirectory {
    let url: URL

    func existingFiles() -> [String: String] {
        guard let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil) else {
            return [:]
        }
        var files: [String: String] = [:]
        let root = url.standardizedFileURL.path + "/"
        for case let file as URL in enumerator where file.pathExtension == "swift" {
            let path = file.standardizedFileURL.path
            guard path.hasPrefix(root) else { continue }
            files[String(path.dropFirst(root.count))] = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        }
        return files
    }

    /// Makes the directory hold exactly `files`, rewriting only files whose contents changed (so unchanged
    /// files keep their timestamps and do not trigger rebuilds).
    func synchronize(to files: [String: String]) throws {
        let existing = existingFiles()
        for stale in existing.keys where files[stale] == nil {
            try FileManager.default.removeItem(at: url.appendingPathComponent(stale))
        }
        for (path, contents) in files.sorted(by: { $0.key < $1.key }) where existing[path] != contents {
            let file = url.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            try contents.write(to: file, atomically: true, encoding: .utf8)
        }
    }

    /// Paths that differ between this directory and `other`: changed, missing or extra files.
    func differences(from other: OutputDirectory) -> [String] {
        let mine = existingFiles()
        let theirs = other.existingFiles()
        return Set(mine.keys).union(theirs.keys).filter { mine[$0] != theirs[$0] }.sorted()
    }
}
