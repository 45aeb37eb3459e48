#if canImport(Glibc)
import Glibc
#endif

/// Reads standard input as lines without blocking past a deadline, so a producer can send what it has when input
/// pauses (linger) instead of waiting for the next line.
struct StdinLines {
    private var pending: [UInt8] = []
    private(set) var atEnd = false

    /// Lines completed within `timeoutMs` (without their `\n` or `\r\n`); empty when none arrived in time. At
    /// end of input a last line without a newline is returned too.
    mutating func next(timeoutMs: Int32) throws -> [[UInt8]] {
        guard !atEnd else { return [] }
        var descriptor = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, max(0, timeoutMs))
        if ready < 0 && errno != EINTR { throw StdinError(reason: String(cString: strerror(errno))) }
        guard ready > 0 else { return [] }
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        let count = read(0, &chunk, chunk.count)
        if count < 0 {
            if errno == EINTR || errno == EAGAIN { return [] }
            throw StdinError(reason: String(cString: strerror(errno)))
        }
        if count == 0 {
            atEnd = true
            return pending.isEmpty ? [] : [Self.trimCarriageReturn(pending)]
        }
        pending += chunk[..<count]
        var lines: [[UInt8]] = []
        var start = 0
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(Self.trimCarriageReturn(Array(pending[start..<newline])))
            start = newline + 1
        }
        pending.removeFirst(start)
        return lines
    }

    /// Java's `BufferedReader.readLine`, which Kafka's console producer uses, ends lines at `\n` or `\r\n`.
    private static func trimCarriageReturn(_ line: [UInt8]) -> [UInt8] {
        line.last == UInt8(ascii: "\r") ? Array(line.dropLast()) : line
    }

    struct StdinError: Error, CustomStringConvertible {
        let reason: String
        var description: String { "cannot read standard input: \(reason)" }
    }
}
