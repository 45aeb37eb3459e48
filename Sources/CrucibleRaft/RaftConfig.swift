// Static configuration of one node of the quorum.

public struct RaftConfig: Sendable {
    /// This node's id.
    public var nodeID: RaftNodeID
    /// `controller.quorum.voters`: the fixed voter set. A node outside it is an observer: it replicates the
    /// log but never votes or stands for election (a broker-only node).
    public var voters: [RaftNodeID]
    /// `controller.quorum.election.timeout.ms`; the actual timeout is drawn from [t, 2t) so that candidates
    /// rarely collide.
    public var electionTimeoutMs: Int64 = 1000
    /// `controller.quorum.fetch.timeout.ms`: a follower that has not heard from its leader for this long
    /// stands for election. A leader resigns if a majority has not fetched within 1.5 times it (check quorum).
    public var fetchTimeoutMs: Int64 = 2000
    /// `controller.quorum.election.backoff.max.ms`: the largest wait before standing again after a lost
    /// election or a resignation. Waits grow from `electionBackoffBaseMs` (Kafka's fixed 100 ms).
    public var electionBackoffMaxMs: Int64 = 1000
    public var electionBackoffBaseMs: Int64 = 100
    /// `controller.quorum.request.timeout.ms`: an unanswered request is sent again after this long.
    public var requestTimeoutMs: Int64 = 2000
    /// `controller.quorum.retry.backoff.ms`: the pause before retrying a request that was answered with an error.
    public var retryBackoffMs: Int64 = 20
    /// How long the leader holds an empty Fetch (long poll) before answering it anyway.
    public var fetchMaxWaitMs: Int64 = 500
    /// Upper bounds: entries in one Fetch response, bytes in one FetchSnapshot chunk.
    public var fetchEntriesMax: Int = 256
    public var snapshotChunkBytesMax: Int = 64 * 1024

    /// Deliberately wrong behaviour, settable only from tests (internal), to prove the simulator's invariant
    /// checks can fail.
    var testingFaults: RaftTestingFaults = []

    public init(nodeID: RaftNodeID, voters: [RaftNodeID]) {
        precondition(!voters.isEmpty, "a quorum needs at least one voter")
        precondition(Set(voters).count == voters.count, "duplicate voter id")
        self.nodeID = nodeID
        self.voters = voters.sorted()
    }

    public var isVoter: Bool { voters.contains(nodeID) }
    public var majority: Int { voters.count / 2 + 1 }
    var checkQuorumTimeoutMs: Int64 { fetchTimeoutMs * 3 / 2 }
}

/// Bugs the simulator must catch.
struct RaftTestingFaults: OptionSet, Sendable {
    let rawValue: Int
    /// The leader advances the high watermark over entries of older epochs before one of its own is replicated
    /// (Raft paper figure 8).
    static let commitBeforeOwnEpochEntry = RaftTestingFaults(rawValue: 1 << 0)
    /// Voters grant votes without comparing logs, so a candidate missing committed entries can win.
    static let grantVoteWithoutLogCheck = RaftTestingFaults(rawValue: 1 << 1)
    /// The leader counts a follower's fetch offset as replicated without the epoch check (a diverged follower
    /// counts toward the majority).
    static let countFollowerWithoutEpochCheck = RaftTestingFaults(rawValue: 1 << 2)
}
