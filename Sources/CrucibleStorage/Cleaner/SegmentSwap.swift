import Logging

/// Replacing a segment by its cleaned copy so that a crash at any point leaves either the old segment or the
/// new one, never a mix: Kafka's `.cleaned` → `.swap` → real-name scheme. The cleaner writes `X.log.cleaned`,
/// `X.index.cleaned`, `X.timeindex.cleaned` and `X.txnindex.cleaned` (flushed, the last even when empty); then, under the log's lock, each is renamed to `.swap`
/// with the log last, and that rename is the commit point; then each `.swap` is renamed over the old file, the
/// log again last. rename(2) replaces atomically, and readers holding the old segment keep its descriptors.
enum SegmentSwap {
    static let cleanedSuffix = ".cleaned"
    static let swapSuffix = ".swap"
    /// Kafka renames replaced segments to `.deleted` before deleting them; any left over go at start too.
    static let deletedSuffix = ".deleted"
    /// The log comes last in every step: its `.swap` existing is what says the copy was committed.
    static let kinds = [".index", ".timeindex", ".txnindex", ".log"]

    /// Thrown by tests' `crashAfterStep` to stop a swap where a SIGKILL could.
    struct SimulatedCrash: Error { let step: Int }

    static func path(_ directory: String, _ baseOffset: Int64, _ kind: String, _ suffix: String) -> String {
        directory + "/" + LogSegment.fileName(baseOffset, kind + suffix)
    }

    /// Renames the cleaned files of segment `baseOffset` into place (two per kind; `crashAfterStep` n stops
    /// after the n-th, 0 before the first). Called under the log's lock, after the cleaned files were flushed.
    static func commit(_ directory: String, _ baseOffset: Int64, crashAfterStep: Int? = nil) throws {
        if crashAfterStep == 0 { throw SimulatedCrash(step: 0) }  // only the `.cleaned` files exist
        var step = 0
        func move(_ kind: String, _ from: String, _ to: String) throws {
            try FileSystem.rename(path(directory, baseOffset, kind, from), path(directory, baseOffset, kind, to))
            step += 1
            if step == crashAfterStep { throw SimulatedCrash(step: step) }
        }
        for kind in kinds { try move(kind, cleanedSuffix, swapSuffix) }
        for kind in kinds { try move(kind, swapSuffix, "") }
    }

    static func removeCleaned(_ directory: String, _ baseOffset: Int64) throws {
        for kind in kinds { try FileSystem.remove(path(directory, baseOffset, kind, cleanedSuffix)) }
    }

    /// At open, before segments are listed: uncommitted copies (`.cleaned`, or `.swap` indexes without a
    /// `.log.swap`) are deleted, leaving the old segment; committed ones (a `.log.swap`) are renamed into place,
    /// indexes first, so that a crash during this recovery is recovered the same way next time.
    static func finishInterrupted(in directory: String, logger: Logger) throws {
        let names = try FileSystem.list(directory)
        for name in names where name.hasSuffix(cleanedSuffix) || name.hasSuffix(deletedSuffix) {
            try FileSystem.remove(directory + "/" + name)
        }
        let committed = Set(names.filter { $0.hasSuffix(".log" + swapSuffix) }.map { $0.prefix(20) })
        let swaps = names.filter { $0.hasSuffix(swapSuffix) }
        for name in swaps.filter({ !$0.hasSuffix(".log" + swapSuffix) }) + swaps.filter({ $0.hasSuffix(".log" + swapSuffix) }) {
            let path = directory + "/" + name
            if committed.contains(name.prefix(20)) {
                try FileSystem.rename(path, String(path.dropLast(swapSuffix.count)))
            } else {
                try FileSystem.remove(path)
            }
        }
        if !committed.isEmpty {
            logger.info("completed \(committed.count) interrupted segment swap(s) of the cleaner in \(directory)")
        }
    }
}
