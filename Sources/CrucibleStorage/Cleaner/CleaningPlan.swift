/// Where one cleaning pass of a log may work and whether it is due, as Kafka's LogCleanerManager computes it
/// (`cleanableOffsets`, `LogToClean`): the log splits into a clean head (below the checkpoint), a dirty section
/// the pass may clean, and an uncleanable tail (the active segment, anything at or past the caller's bound,
/// and segments younger than `min.compaction.lag.ms`).
struct CleaningPlan {
    /// Earlier passes cleaned everything below this: the checkpoint, or the log start when there is none or it
    /// lies outside the log (a log truncated or started over since).
    let firstDirtyOffset: Int64
    /// Nothing at or after this offset is put in the offset map.
    let firstUncleanableOffset: Int64
    let cleanBytes: Int
    let dirtyBytes: Int
    /// Some dirty record is older than `max.compaction.lag.ms`: clean whatever the ratio.
    let compactionOverdue: Bool

    var dirtyRatio: Double { cleanBytes + dirtyBytes == 0 ? 0 : Double(dirtyBytes) / Double(cleanBytes + dirtyBytes) }

    /// `segments` is a snapshot with the active segment last.
    init(segments: [LogSegment], logStartOffset: Int64, checkpoint: Int64?, upperBound: Int64, config: LogConfig,
         nowMs: Int64) throws {
        precondition(!segments.isEmpty)
        let logEnd = segments.last!.nextOffset
        let firstDirty: Int64
        if let checkpoint, checkpoint >= logStartOffset, checkpoint <= logEnd {
            firstDirty = checkpoint
        } else {
            firstDirty = logStartOffset
        }
        // Segment i covers [base_i, base_i+1): a cleaned segment may end early, but its range does not shrink.
        func end(_ i: Int) -> Int64 { i + 1 < segments.count ? segments[i + 1].baseOffset : logEnd }
        let dirty = segments.indices.dropLast().filter { end($0) > firstDirty }
        var uncleanable = min(upperBound, segments.last!.baseOffset)
        if config.minCompactionLagMs > 0,
           let young = dirty.first(where: { segments[$0].maxTimestamp > nowMs - config.minCompactionLagMs }) {
            uncleanable = min(uncleanable, segments[young].baseOffset)
        }
        uncleanable = max(uncleanable, firstDirty)
        firstDirtyOffset = firstDirty
        firstUncleanableOffset = uncleanable
        cleanBytes = segments.filter { $0.baseOffset < firstDirty }.reduce(0) { $0 + $1.size }
        dirtyBytes = dirty.filter { segments[$0].baseOffset < uncleanable }.reduce(0) { $0 + segments[$1].size }
        var overdue = false
        if config.maxCompactionLagMs < .max, let first = dirty.first(where: { !segments[$0].isEmpty }),
           let header = try segments[first].header(at: 0) {
            overdue = nowMs - header.maxTimestamp > config.maxCompactionLagMs
        }
        compactionOverdue = overdue
    }

    /// Kafka's rule: the dirty ratio above `min.cleanable.dirty.ratio`, or records overdue by
    /// `max.compaction.lag.ms`. `tombstonesDue` adds one of ours: a delete horizon of the last pass has passed,
    /// so a pass now removes those tombstones without waiting for new dirty data.
    func isDue(_ config: LogConfig, tombstonesDue: Bool) -> Bool {
        if dirtyBytes > 0 && (dirtyRatio > config.minCleanableDirtyRatio || compactionOverdue) { return true }
        return tombstonesDue && cleanBytes + dirtyBytes > 0
    }
}
