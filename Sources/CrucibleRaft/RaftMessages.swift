// The messages nodes exchange. Each case maps one to one onto a Kafka RPC of the metadata quorum (Vote 52,
// BeginQuorumEpoch 53, EndQuorumEpoch 54, Fetch 1, FetchSnapshot 59) with the same fields; the broker layer
// translates them to and from the wire (cluster id, topic `__cluster_metadata`, partition 0).

/// Kafka error codes the quorum RPCs use.
public enum RaftErrorCode: Int16, Sendable {
    case none = 0
    case notLeaderOrFollower = 6
    case brokerNotAvailable = 8
    case invalidRequest = 42
    case fencedLeaderEpoch = 74
    case unknownLeaderEpoch = 75
    case inconsistentVoterSet = 94
    case snapshotNotFound = 98
    case positionOutOfRange = 99
}

/// `LeaderIdAndEpoch` as it appears in every response: the sender's view of the quorum.
public struct LeaderAndEpoch: Hashable, Sendable {
    public var leaderID: RaftNodeID?
    public var epoch: Int32

    public init(leaderID: RaftNodeID?, epoch: Int32) {
        self.leaderID = leaderID
        self.epoch = epoch
    }
}

public struct VoteRequest: Hashable, Sendable {
    public var candidateEpoch: Int32
    public var candidateID: RaftNodeID
    /// The candidate's log end: `lastOffset` is its end offset, `lastOffsetEpoch` the epoch of its last entry.
    public var lastOffsetEpoch: Int32
    public var lastOffset: Int64

    public init(candidateEpoch: Int32, candidateID: RaftNodeID, lastOffsetEpoch: Int32, lastOffset: Int64) {
        self.candidateEpoch = candidateEpoch
        self.candidateID = candidateID
        self.lastOffsetEpoch = lastOffsetEpoch
        self.lastOffset = lastOffset
    }
}

public struct VoteResponse: Hashable, Sendable {
    public var errorCode: RaftErrorCode
    public var current: LeaderAndEpoch
    public var voteGranted: Bool

    public init(errorCode: RaftErrorCode, current: LeaderAndEpoch, voteGranted: Bool) {
        self.errorCode = errorCode
        self.current = current
        self.voteGranted = voteGranted
    }
}

public struct BeginQuorumEpochRequest: Hashable, Sendable {
    public var leaderID: RaftNodeID
    public var leaderEpoch: Int32

    public init(leaderID: RaftNodeID, leaderEpoch: Int32) {
        self.leaderID = leaderID
        self.leaderEpoch = leaderEpoch
    }
}

public struct EndQuorumEpochRequest: Hashable, Sendable {
    public var leaderID: RaftNodeID
    public var leaderEpoch: Int32
    /// Voters ordered by how far they had replicated: the first should stand for election first.
    public var preferredSuccessors: [RaftNodeID]

    public init(leaderID: RaftNodeID, leaderEpoch: Int32, preferredSuccessors: [RaftNodeID]) {
        self.leaderID = leaderID
        self.leaderEpoch = leaderEpoch
        self.preferredSuccessors = preferredSuccessors
    }
}

/// The answer to BeginQuorumEpoch and EndQuorumEpoch: an error code and the responder's view.
public struct QuorumEpochResponse: Hashable, Sendable {
    public var errorCode: RaftErrorCode
    public var current: LeaderAndEpoch

    public init(errorCode: RaftErrorCode, current: LeaderAndEpoch) {
        self.errorCode = errorCode
        self.current = current
    }
}

public struct FetchRequest: Hashable, Sendable {
    public var replicaID: RaftNodeID
    public var currentLeaderEpoch: Int32
    /// The fetcher's flushed log end offset and the epoch of the entry just before it.
    public var fetchOffset: Int64
    public var lastFetchedEpoch: Int32
    public var maxWaitMs: Int64

    public init(replicaID: RaftNodeID, currentLeaderEpoch: Int32, fetchOffset: Int64, lastFetchedEpoch: Int32,
                maxWaitMs: Int64) {
        self.replicaID = replicaID
        self.currentLeaderEpoch = currentLeaderEpoch
        self.fetchOffset = fetchOffset
        self.lastFetchedEpoch = lastFetchedEpoch
        self.maxWaitMs = maxWaitMs
    }
}

public struct FetchResponse: Hashable, Sendable {
    public var errorCode: RaftErrorCode
    public var current: LeaderAndEpoch
    public var highWatermark: Int64
    public var logStartOffset: Int64
    /// Set when the fetcher's log diverges: it must truncate to at most `offset`, its own end for that epoch.
    public var divergingEpoch: OffsetAndEpoch?
    /// Set when the fetch offset is below the leader's log start: fetch this snapshot first.
    public var snapshotID: SnapshotID?
    public var entries: [RaftEntry]

    public init(errorCode: RaftErrorCode, current: LeaderAndEpoch, highWatermark: Int64, logStartOffset: Int64,
                divergingEpoch: OffsetAndEpoch?, snapshotID: SnapshotID?, entries: [RaftEntry]) {
        self.errorCode = errorCode
        self.current = current
        self.highWatermark = highWatermark
        self.logStartOffset = logStartOffset
        self.divergingEpoch = divergingEpoch
        self.snapshotID = snapshotID
        self.entries = entries
    }
}

public struct FetchSnapshotRequest: Hashable, Sendable {
    public var replicaID: RaftNodeID
    public var currentLeaderEpoch: Int32
    public var snapshotID: SnapshotID
    public var position: Int64

    public init(replicaID: RaftNodeID, currentLeaderEpoch: Int32, snapshotID: SnapshotID, position: Int64) {
        self.replicaID = replicaID
        self.currentLeaderEpoch = currentLeaderEpoch
        self.snapshotID = snapshotID
        self.position = position
    }
}

public struct FetchSnapshotResponse: Hashable, Sendable {
    public var errorCode: RaftErrorCode
    public var current: LeaderAndEpoch
    public var snapshotID: SnapshotID
    /// Total size of the snapshot in bytes, and where this chunk starts.
    public var size: Int64
    public var position: Int64
    public var bytes: [UInt8]

    public init(errorCode: RaftErrorCode, current: LeaderAndEpoch, snapshotID: SnapshotID, size: Int64,
                position: Int64, bytes: [UInt8]) {
        self.errorCode = errorCode
        self.current = current
        self.snapshotID = snapshotID
        self.size = size
        self.position = position
        self.bytes = bytes
    }
}

public enum RaftMessageBody: Hashable, Sendable {
    case voteRequest(VoteRequest)
    case voteResponse(VoteResponse)
    case beginQuorumEpochRequest(BeginQuorumEpochRequest)
    case beginQuorumEpochResponse(QuorumEpochResponse)
    case endQuorumEpochRequest(EndQuorumEpochRequest)
    case endQuorumEpochResponse(QuorumEpochResponse)
    case fetchRequest(FetchRequest)
    case fetchResponse(FetchResponse)
    case fetchSnapshotRequest(FetchSnapshotRequest)
    case fetchSnapshotResponse(FetchSnapshotResponse)

    var isRequest: Bool {
        switch self {
        case .voteRequest, .beginQuorumEpochRequest, .endQuorumEpochRequest, .fetchRequest, .fetchSnapshotRequest:
            return true
        case .voteResponse, .beginQuorumEpochResponse, .endQuorumEpochResponse, .fetchResponse,
             .fetchSnapshotResponse:
            return false
        }
    }
}

/// A message between two nodes. A response carries the correlation id of its request (Kafka's request
/// header), which is how a node recognises answers to requests it no longer waits for.
public struct RaftMessage: Hashable, Sendable {
    public var source: RaftNodeID
    public var destination: RaftNodeID
    public var correlationID: Int32
    public var body: RaftMessageBody

    public init(source: RaftNodeID, destination: RaftNodeID, correlationID: Int32, body: RaftMessageBody) {
        self.source = source
        self.destination = destination
        self.correlationID = correlationID
        self.body = body
    }
}
