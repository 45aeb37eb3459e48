/// Where each Raft entry starts in Kafka record offsets. Raft numbers entries one by one; the stored log numbers
/// records, and an entry (a batch) holds one or more. Every node derives the same numbers from the same log
/// prefix, since each entry starts where the one before it ends.
struct RecordOffsetIndex {
    /// The first entry this index knows (the log start, just after the snapshot).
    private(set) var startOffset: Int64
    /// The record offset at `startOffset` (the snapshot's record end).
    private(set) var startRecordOffset: Int64
    /// The record end offset of each entry from `startOffset` on.
    private var ends: [Int64] = []

    init(startOffset: Int64, startRecordOffset: Int64) {
        self.startOffset = startOffset
        self.startRecordOffset = startRecordOffset
    }

    var endOffset: Int64 { startOffset + Int64(ends.count) }
    var endRecordOffset: Int64 { ends.last ?? startRecordOffset }

    /// The record offset where entry `offset` starts (`endOffset` gives the record end of the log).
    func recordOffset(ofEntry offset: Int64) -> Int64 {
        precondition(offset >= startOffset && offset <= endOffset, "entry \(offset) outside \(startOffset)..\(endOffset)")
        return offset == startOffset ? startRecordOffset : ends[Int(offset - startOffset) - 1]
    }

    mutating func append(recordCount: Int64) {
        ends.append(endRecordOffset + recordCount)
    }

    mutating func truncate(toEntry offset: Int64) {
        guard offset < endOffset else { return }
        ends.removeLast(Int(endOffset - offset))
    }

    mutating func trimPrefix(toEntry offset: Int64) {
        let record = recordOffset(ofEntry: offset)
        ends.removeFirst(Int(offset - startOffset))
        startOffset = offset
        startRecordOffset = record
    }

    mutating func reset(startOffset: Int64, startRecordOffset: Int64) {
        self = RecordOffsetIndex(startOffset: startOffset, startRecordOffset: startRecordOffset)
    }
}
