// Plain value types shared by the Raft core, its messages and its actions.

/// A node of the quorum, Kafka's `node.id` (`brokerId` on the wire).
public typealias RaftNodeID = Int32

/// A position in a log: the offset of the *next* entry (an end offset) together with the epoch of the
/// entry just before it. Kafka names this `OffsetAndEpoch`; a snapshot id and a diverging epoch are both this
/// shape.
public struct OffsetAndEpoch: Hashable, Sendable, CustomStringConvertible {
    public var offset: Int64
    public var epoch: Int32

    public init(offset: Int64, epoch: Int32) {
        self.offset = offset
        self.epoch = epoch
    }

    public var description: String { "\(offset)@\(epoch)" }

    /// The Raft "log up to date" order: a later last epoch wins, and within one epoch the longer log wins.
    public static func isAtLeastAsUpToDate(_ a: OffsetAndEpoch, as b: OffsetAndEpoch) -> Bool {
        a.epoch != b.epoch ? a.epoch > b.epoch : a.offset >= b.offset
    }
}

/// A snapshot is named by the end offset it covers (exclusive) and the epoch of its last entry, as in
/// `<20-digit offset>-<10-digit epoch>.checkpoint`.
public typealias SnapshotID = OffsetAndEpoch

/// What an entry of the metadata log carries. The leader-change entry is Kafka's LeaderChangeMessage control
/// record: a new leader writes it first so that it has an entry of its own epoch to commit.
public enum RaftPayload: Hashable, Sendable {
    case records([UInt8])
    case leaderChange(leaderID: RaftNodeID, voters: [RaftNodeID])
}

/// One entry of the replicated log.
public struct RaftEntry: Hashable, Sendable, CustomStringConvertible {
    public var offset: Int64
    public var epoch: Int32
    public var payload: RaftPayload

    public init(offset: Int64, epoch: Int32, payload: RaftPayload) {
        self.offset = offset
        self.epoch = epoch
        self.payload = payload
    }

    public var description: String { "\(offset)@\(epoch)" }
}

/// A snapshot: the state machine's image of every committed entry below `id.offset`. The core treats the
/// bytes as opaque; it only keeps the latest one so that it can serve FetchSnapshot.
public struct RaftSnapshot: Hashable, Sendable {
    public var id: SnapshotID
    public var data: [UInt8]

    public init(id: SnapshotID, data: [UInt8]) {
        self.id = id
        self.data = data
    }
}

/// Kafka's quorum-state file: what must be durable before a node acts on an epoch or a vote.
public struct ElectionState: Hashable, Sendable, CustomStringConvertible {
    public var epoch: Int32
    public var votedFor: RaftNodeID?
    public var leaderID: RaftNodeID?

    public init(epoch: Int32, votedFor: RaftNodeID? = nil, leaderID: RaftNodeID? = nil) {
        self.epoch = epoch
        self.votedFor = votedFor
        self.leaderID = leaderID
    }

    public static let initial = ElectionState(epoch: 0)

    public var description: String {
        "epoch \(epoch) voted \(votedFor.map(String.init) ?? "-") leader \(leaderID.map(String.init) ?? "-")"
    }
}

/// Everything a node finds on its disk when it starts: the election state, the latest snapshot and the
/// flushed log entries after it. Unflushed writes are gone, which is exactly what the core must survive.
public struct RaftDurableState: Sendable {
    public var election: ElectionState
    public var snapshot: RaftSnapshot?
    public var entries: [RaftEntry]

    public init(election: ElectionState = .initial, snapshot: RaftSnapshot? = nil, entries: [RaftEntry] = []) {
        self.election = election
        self.snapshot = snapshot
        self.entries = entries
    }
}
