import Foundation
import Histogram

/// A `.hlog` that cannot be written or read, naming the line at fault when there is one.
public struct HistogramLogError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
    init(line: Int, _ reason: String) { description = "line \(line): \(reason)" }
}

/// Writes HdrHistogram interval logs (format 1.3), one line per closed interval, as Java's `HistogramLogWriter`
/// does, so HdrHistogram's tools (HistogramLogProcessor, the PyPI `hdrhistogram` reader, HdrHistogram plotters)
/// read them.
///
/// Units: histograms hold microseconds. The `Interval_Max` column is written in milliseconds
/// (`maxValueUnitRatio` = 1000), which is what a person scanning the file wants; Java's default ratio of 1e6 assumes
/// nanosecond histograms. Interval start times are seconds since `startTime`, and a `#[BaseTime: ...]` equal to it
/// is written so readers need not guess whether the times are relative (Java's reader guesses when it is missing).
public struct HistogramLogWriter {
    public static let maxValueUnitRatio = 1000.0

    /// Seconds since the epoch that interval start times count from.
    public let startTime: Double
    /// Everything written so far, when writing to memory (`init(startTime:)`); empty when writing to a file.
    public private(set) var text = ""
    private let file: FileHandle?
    private var writeError: Error?

    /// Accumulates the log in `text`.
    public init(startTime: Date) {
        self.startTime = startTime.timeIntervalSince1970
        file = nil
        text = Self.header(startTime: startTime)
    }

    /// Creates (or truncates) the file at `path` and writes the header; each `append` then writes its line at once,
    /// so a run cut short still leaves every interval it closed on disk.
    public init(path: String, startTime: Date) throws {
        self.startTime = startTime.timeIntervalSince1970
        guard FileManager.default.createFile(atPath: path, contents: Data(Self.header(startTime: startTime).utf8)),
              let handle = FileHandle(forWritingAtPath: path)
        else { throw HistogramLogError("\(path): cannot be created") }
        _ = try handle.seekToEnd()
        file = handle
    }

    /// One interval: `[Tag=NAME,]start,length,max,BASE64`, `start` in seconds since `startTime`.
    ///
    /// Does not throw, so a measurement loop can log without error plumbing: a tag is the caller's constant (see
    /// `isValidTag`; a bad one is a bug and traps), and a failed file write is kept and thrown by `close()`.
    public mutating func append(tag: String?, start: Double, length: Double, histogram: Histogram<UInt64>) {
        if let tag { precondition(Self.isValidTag(tag), "hlog tag '\(tag)' must be non-empty without commas or whitespace") }
        let payload = Data(HistogramEncoding.encodeCompressed(histogram)).base64EncodedString()
        let max = Double(histogram.max) / Self.maxValueUnitRatio
        let fields = String(format: "%.3f,%.3f,%.3f,", start, length, max)
        let line = (tag.map { "Tag=\($0)," } ?? "") + fields + payload + "\n"
        guard let file else {
            text += line
            return
        }
        guard writeError == nil else { return }
        do {
            try file.write(contentsOf: Data(line.utf8))
        } catch {
            writeError = error
        }
    }

    /// A tag ends at the first comma when read back, and HdrHistogram's tools split on whitespace.
    public static func isValidTag(_ tag: String) -> Bool {
        !tag.isEmpty && !tag.contains { $0 == "," || $0.isWhitespace }
    }

    /// Closes the file, throwing the first write that failed, if any.
    public func close() throws {
        try file?.close()
        if let writeError { throw writeError }
    }

    static func header(startTime: Date) -> String {
        let seconds = String(format: "%.3f", startTime.timeIntervalSince1970)
        return """
            #[Histogram log format version 1.3]
            #[StartTime: \(seconds) (seconds since epoch), \(javaDateString(startTime))]
            #[BaseTime: \(seconds) (seconds since epoch)]
            #[Histogram values are in microseconds; Interval_Max is in milliseconds]
            "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"

            """
    }

    /// The date as Java's `Date.toString()` writes it (`Tue Jan 06 12:00:00 UTC 2026`), local time.
    static func javaDateString(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone.current
        formatter.dateFormat = "EEE MMM dd HH:mm:ss zzz yyyy"
        return formatter.string(from: date)
    }
}

/// Reads an HdrHistogram interval log (format 1.x): start and base times, and every interval with its histogram.
/// Comment lines other than StartTime and BaseTime, blank lines and the legend are skipped; any other line that
/// is not a well-formed interval is refused with its line number, rather than skipped as Java's reader does,
/// because a silently dropped interval would make a run look better than it was.
public struct HistogramLogReader {
    public struct Interval {
        public let tag: String?
        /// As written: seconds since `baseTime` when there is one (or when times are relative), else absolute.
        public let start: Double
        public let length: Double
        /// The `Interval_Max` column as written (in the writer's units; milliseconds for Crucible's logs).
        public let max: Double
        public let histogram: Histogram<UInt64>
    }

    public private(set) var startTime: Double?
    public private(set) var baseTime: Double?
    public private(set) var intervals: [Interval] = []

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HistogramLogError("\(path): cannot be read")
        }
        do {
            try self.init(text: String(decoding: data, as: UTF8.self))
        } catch let error as HistogramLogError {
            throw HistogramLogError("\(path): \(error.description)")
        }
    }

    public init(text: String) throws {
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let number = offset + 1
            if line.isEmpty || line.hasPrefix("\"StartTimestamp\"") { continue }
            if line.hasPrefix("#") {
                if let seconds = try Self.time(in: line, after: "#[StartTime: ", line: number) { startTime = seconds }
                if let seconds = try Self.time(in: line, after: "#[BaseTime: ", line: number) { baseTime = seconds }
                continue
            }
            intervals.append(try Self.interval(line, number: number))
        }
    }

    private static func time(in line: Substring, after prefix: String, line number: Int) throws -> Double? {
        guard line.hasPrefix(prefix) else { return nil }
        let value = line.dropFirst(prefix.count).prefix { $0 != " " && $0 != "]" }
        guard let seconds = Double(value), seconds.isFinite else {
            throw HistogramLogError(line: number, "bad time '\(value)'")
        }
        return seconds
    }

    private static func interval(_ line: Substring, number: Int) throws -> Interval {
        var rest = line
        var tag: String?
        if rest.hasPrefix("Tag=") {
            guard let comma = rest.firstIndex(of: ",") else { throw HistogramLogError(line: number, "tag without fields") }
            tag = String(rest[rest.index(rest.startIndex, offsetBy: 4) ..< comma])
            rest = rest[rest.index(after: comma)...]
        }
        let fields = rest.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == 4 else {
            throw HistogramLogError(line: number, "expected start,length,max,histogram but found \(fields.count) fields")
        }
        let numbers = fields.prefix(3).map { Double($0) }
        guard let start = numbers[0], let length = numbers[1], let max = numbers[2],
              start.isFinite, length.isFinite, length >= 0, max.isFinite
        else { throw HistogramLogError(line: number, "bad start, length or max in '\(fields.prefix(3).joined(separator: ","))'") }
        guard let bytes = Data(base64Encoded: String(fields[3])) else {
            throw HistogramLogError(line: number, "histogram is not base64")
        }
        do {
            let histogram = try HistogramEncoding.decodeCompressed([UInt8](bytes))
            return Interval(tag: tag, start: start, length: length, max: max, histogram: histogram)
        } catch let error as HistogramEncodingError {
            throw HistogramLogError(line: number, error.description)
        }
    }
}
