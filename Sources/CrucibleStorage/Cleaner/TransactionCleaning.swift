import CrucibleRecords

/// What one cleaning pass knows of the log's transactions, as Kafka's `CleanedTransactionMetadata` tracks it,
/// fed every batch of the pass in offset order (segments oldest first):
/// - data of an aborted transaction (a transactional batch inside a `.txnindex` range of its producer) is
///   dropped, and never enters the offset map, where it could shadow an older committed value of its key;
/// - a marker stays while data of its transaction was seen in this pass (so a replay of the log never finds
///   that data without its end), and an ABORT marker that stays keeps its index entry;
/// - a marker whose transaction left nothing is removable: it first gets a delete horizon
///   (`delete.retention.ms` ahead, KIP-534), so a consumer that read the data before the cleaning still finds
///   the marker, and a pass after the horizon drops it with its index entry.
final class TransactionCleaning {
    enum MarkerFate: Equatable {
        case keep
        /// Removable once `horizonMs` has passed; the horizon is set on the batch the first time.
        case removable
    }

    /// Every aborted transaction of the log, by producer, oldest first.
    private let aborted: [Int64: [AbortedTxn]]
    /// Aborted transactions (producer, marker offset) whose data this pass saw.
    private var abortedSeen: Set<[Int64]> = []
    /// Producers with a batch of a not-aborted transaction seen since their last marker.
    private var committedSeen: Set<Int64> = []

    init(abortedTransactions: [AbortedTxn]) {
        aborted = Dictionary(grouping: abortedTransactions, by: \.producerId)
    }

    /// The aborted transaction a data batch belongs to, if any.
    func abortedTransaction(of header: RecordBatchHeader) -> AbortedTxn? {
        guard header.isTransactional, !header.isControl else { return nil }
        return aborted[header.producerId]?.first { $0.firstOffset <= header.baseOffset && header.baseOffset <= $0.lastOffset }
    }

    /// Notes a data batch read by the pass; true when it is aborted data, to be dropped.
    func readData(_ header: RecordBatchHeader) -> Bool {
        guard header.isTransactional else { return false }
        if let txn = abortedTransaction(of: header) {
            abortedSeen.insert([txn.producerId, txn.lastOffset])
            return true
        }
        committedSeen.insert(header.producerId)
        return false
    }

    /// Notes a marker read by the pass, and says whether it must stay.
    func readMarker(_ header: RecordBatchHeader, _ marker: ControlRecord.Marker) -> MarkerFate {
        let producer = header.producerId
        let dataSeen: Bool
        switch marker {
        case .abort: dataSeen = abortedSeen.remove([producer, header.baseOffset]) != nil
        case .commit: dataSeen = committedSeen.contains(producer)
        }
        committedSeen.remove(producer)
        return dataSeen ? .keep : .removable
    }

    /// The index entry of the ABORT marker at `offset`, which goes wherever the marker goes.
    func indexEntry(producerId: Int64, markerOffset offset: Int64) -> AbortedTxn? {
        aborted[producerId]?.first { $0.lastOffset == offset }
    }
}
