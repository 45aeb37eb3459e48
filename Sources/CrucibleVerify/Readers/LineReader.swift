import Foundation

/// A file's lines, read in chunks into one reused buffer, so a history of hundreds of megabytes is never held
/// whole. Each line is handed over without its newline; a line longer than the buffer grows it.
struct LineReader {
    static let chunkBytes = 8 << 20

    /// Calls `body` with each line and its 1-based number until the file ends or `body` returns false.
    static func forEachLine(path: String, _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Bool) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw HistoryReadError(file: path, line: 0, expected: "a readable file")
        }
        defer { try? handle.close() }
        let descriptor = handle.fileDescriptor
        // A small file gets a buffer its size (one read), not a whole chunk to clear.
        var status = stat()
        let size = fstat(descriptor, &status) == 0 ? Int(status.st_size) : chunkBytes
        var buffer = [UInt8](repeating: 0, count: max(1, min(chunkBytes, size + 1)))
        var filled = 0
        var lineNumber = 0
        var atEnd = false
        while !atEnd {
            if filled == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
            let got = buffer.withUnsafeMutableBytes { raw in read(descriptor, raw.baseAddress! + filled, raw.count - filled) }
            guard got >= 0 else { throw HistoryReadError(file: path, line: lineNumber, expected: "a readable file (\(String(cString: strerror(errno))))") }
            atEnd = got == 0
            filled += got
            // Every complete line in the buffer; at the end of the file, the last line too.
            let consumed = try buffer.withUnsafeBufferPointer { bytes -> Int? in
                var start = 0
                for i in 0..<filled where bytes[i] == 10 {
                    lineNumber += 1
                    guard try body(UnsafeBufferPointer(rebasing: bytes[start..<i]), lineNumber) else { return nil }
                    start = i + 1
                }
                if atEnd && start < filled {
                    lineNumber += 1
                    guard try body(UnsafeBufferPointer(rebasing: bytes[start..<filled]), lineNumber) else { return nil }
                    start = filled
                }
                return start
            }
            guard let consumed else { return }
            if consumed > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    _ = memmove(raw.baseAddress!, raw.baseAddress! + consumed, filled - consumed)
                }
                filled -= consumed
            }
        }
    }
}
