import Foundation

/// What `crucible check` keeps of one history among many: its verdict, not the history itself (a store can hold
/// hundreds, and only the verdicts are printed).
public struct HistoryVerdict: Sendable {
    public var path: String
    /// The analysis, or why the file could not be checked.
    public var outcome: Result<Analysis, HistoryReadError>
    public var workload: Workload?
    public var entries = 0
    public var seconds = 0.0

    /// `PATH: VALID (kafka, 1,234 entries, 0.12 s)`, `PATH: INVALID lost-write 3, G1a 1 (...)` or
    /// `PATH: UNKNOWN (...)`; an unreadable file's line is its error.
    public var line: String {
        guard case .success(let analysis) = outcome else {
            if case .failure(let error) = outcome { return "\(error)" }
            return path
        }
        let counts = analysis.badAnomalyTypes.map { "\($0) \(analysis.anomalies(ofType: $0).count)" }
        let verdict = switch analysis.validity {
        case .valid: "VALID"
        case .invalid: "INVALID " + counts.joined(separator: ", ")
        case .unknown: "UNKNOWN"
        }
        return "\(path): \(verdict) (\(workload?.rawValue ?? "?"), \(entries) entries, \(String(format: "%.2f", seconds)) s)"
    }
}

extension Check {
    /// Checks every history at once on `concurrency` threads; `done` is called for each as it finishes (from
    /// those threads), and the verdicts come back in the order of `paths`.
    public static func files(_ paths: [String], options: CheckOptions = CheckOptions(),
                             concurrency: Int = ProcessInfo.processInfo.activeProcessorCount,
                             done: @Sendable (HistoryVerdict) -> Void = { _ in }) -> [HistoryVerdict] {
        let results = ResultSlots<HistoryVerdict>(count: paths.count)
        let next = NextIndex()
        DispatchQueue.concurrentPerform(iterations: max(1, min(concurrency, paths.count))) { _ in
            while let i = next.take(below: paths.count) {
                let verdict = check(paths[i], options: options)
                results.set(i, verdict)
                done(verdict)
            }
        }
        return results.all
    }

    private static func check(_ path: String, options: CheckOptions) -> HistoryVerdict {
        do {
            let report = try file(path, options: options)
            return HistoryVerdict(path: path, outcome: .success(report.analysis), workload: report.workload,
                                  entries: report.entries, seconds: report.readSeconds + report.checkSeconds)
        } catch let error as HistoryReadError {
            return HistoryVerdict(path: path, outcome: .failure(error))
        } catch {
            return HistoryVerdict(path: path, outcome: .failure(HistoryReadError(file: path, line: 0, expected: "a readable history (\(error))")))
        }
    }
}

/// The history files that paths name: a file as given; a directory searched through. In a Jepsen store (or a
/// `crucible verify` output) only the `history.edn` / `history.jsonl` files are histories (beside them lie
/// `results.edn`, `jepsen.log` and the nodes' logs); elsewhere every `.jsonl`, `.edn`, `.log` and `.txt` file is.
public enum HistoryFiles {
    static let historyNames: Set<String> = ["history.edn", "history.jsonl"]
    static let extensions: Set<String> = ["jsonl", "edn", "log", "txt"]

    public static func expand(_ paths: [String]) -> [String] {
        paths.flatMap { path -> [String] in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
            let files = (FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String } ?? [])
                .filter { !$0.split(separator: "/").contains { $0.hasPrefix(".") } }
                .map { path.hasSuffix("/") ? path + $0 : path + "/" + $0 }
                .filter { var isDir: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &isDir) && !isDir.boolValue }
                .sorted()
            let histories = files.filter { historyNames.contains(URL(fileURLWithPath: $0).lastPathComponent) }
            if !histories.isEmpty { return histories }
            return files.filter { extensions.contains(URL(fileURLWithPath: $0).pathExtension) }
        }
    }
}

/// Results written by several threads, each to its own slot, read back in slot order.
final class ResultSlots<Result>: @unchecked Sendable {
    private var storage: [Result?]
    private let lock = NSLock()
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ result: Result) { lock.withLock { storage[i] = result } }
    var all: [Result] { lock.withLock { storage.compactMap { $0 } } }
    /// Every slot, nil where nothing was written.
    var slots: [Result?] { lock.withLock { storage } }
}

/// Hands out indices in order to whichever thread asks next.
final class NextIndex: @unchecked Sendable {
    private var next = 0
    private let lock = NSLock()
    func take(below count: Int) -> Int? {
        lock.withLock {
            guard next < count else { return nil }
            defer { next += 1 }
            return next
        }
    }
}

/// The least of the numbers several threads offer.
final class SharedMinimum: @unchecked Sendable {
    private var least = Int.max
    private let lock = NSLock()
    func offer(_ value: Int) { lock.withLock { least = min(least, value) } }
    var value: Int { lock.withLock { least } }
}
