/// The newest offset of each key in the dirty section: what decides which records a cleaning keeps. Kafka's
/// SkeletonMap stores 16-byte hashes and accepts the rare collision; here the keys are kept whole, so no record
/// is ever dropped for another key's sake, and the map is bounded by an estimate of its bytes instead
/// (`log.cleaner.dedupe.buffer.size`). A full map ends the pass at a segment boundary; the next pass goes on.
struct OffsetMap {
    /// Rough per-entry cost of a Swift dictionary slot and array header beside the key bytes themselves.
    static let entryOverheadBytes = 64
    private(set) var offsets: [[UInt8]: Int64] = [:]
    private(set) var bytes = 0
    let bytesMax: Int
    /// The last offset the map covers (-1 when none): records after it are beyond this pass and kept as they are.
    var latestOffset: Int64 = -1

    init(bytesMax: Int) {
        precondition(bytesMax > 0)
        self.bytesMax = bytesMax
    }

    var isFull: Bool { bytes >= bytesMax }
    var count: Int { offsets.count }

    mutating func put(_ key: [UInt8], offset: Int64) {
        if offsets.updateValue(offset, forKey: key) == nil { bytes += key.count + Self.entryOverheadBytes }
    }

    func newestOffset(of key: [UInt8]) -> Int64? { offsets[key] }
}
