// This node leads `epoch`. It answers Fetches, tracks how far each replica has replicated, and computes the
// high watermark: the end offset a majority of voters has durably reached, but only once that covers the
// leader-change entry at `epochStartOffset`. Committing an entry of its own epoch first is what makes older
// entries safe to expose (Raft section 5.4.2).

/// What the leader knows of one replica (voter or observer).
struct ReplicaProgress: Sendable {
    /// The replica's flushed end offset from its last valid Fetch.
    var endOffset: Int64?
    var lastFetchMs: Int64
    /// The high watermark in the last Fetch response to it; a higher one is worth answering a Fetch for.
    var highWatermarkSent: Int64 = -1
}

/// A Fetch the leader holds back until there is something to send or its wait runs out (long poll).
struct ParkedFetch: Sendable {
    var correlationID: Int32
    var request: FetchRequest
    var deadlineMs: Int64
}

final class LeaderState: EpochState {
    let epoch: Int32
    let localID: RaftNodeID
    let voters: [RaftNodeID]
    /// Offset of the leader-change entry, the first entry of this epoch.
    let epochStartOffset: Int64
    private(set) var replicas: [RaftNodeID: ReplicaProgress] = [:]
    var parkedFetches: [RaftNodeID: ParkedFetch] = [:]
    /// Voters that have not yet acknowledged BeginQuorumEpoch (or fetched), and when to ask again.
    private(set) var beginQuorumUnacknowledged: Set<RaftNodeID>
    var beginQuorumResendDeadlineMs: Int64 = .min
    let checkQuorumTimeoutMs: Int64

    init(epoch: Int32, localID: RaftNodeID, voters: [RaftNodeID], epochStartOffset: Int64, nowMs: Int64,
         checkQuorumTimeoutMs: Int64) {
        self.epoch = epoch
        self.localID = localID
        self.voters = voters
        self.epochStartOffset = epochStartOffset
        self.checkQuorumTimeoutMs = checkQuorumTimeoutMs
        beginQuorumUnacknowledged = Set(voters.filter { $0 != localID })
        for voter in voters where voter != localID {
            replicas[voter] = ReplicaProgress(endOffset: nil, lastFetchMs: nowMs)
        }
    }

    var role: RaftRole { .leader }
    var leaderID: RaftNodeID? { localID }
    var election: ElectionState { ElectionState(epoch: epoch, votedFor: localID, leaderID: localID) }
    var majority: Int { voters.count / 2 + 1 }

    var nextDeadlineMs: Int64 {
        var deadline = checkQuorumDeadlineMs
        if !beginQuorumUnacknowledged.isEmpty { deadline = min(deadline, beginQuorumResendDeadlineMs) }
        for parked in parkedFetches.values { deadline = min(deadline, parked.deadlineMs) }
        return deadline
    }

    func canGrantVote(to candidate: RaftNodeID, candidateLogIsUpToDate: Bool) -> Bool { false }

    func acknowledgeBeginQuorum(from voter: RaftNodeID) { beginQuorumUnacknowledged.remove(voter) }

    /// Parked fetches by replica id: dictionary order differs between runs, and the core must not.
    var parkedFetchesInOrder: [ParkedFetch] {
        parkedFetches.keys.sorted().compactMap { parkedFetches[$0] }
    }

    /// Any Fetch or FetchSnapshot in this epoch: the replica follows this leader.
    func recordContact(from replica: RaftNodeID, nowMs: Int64) {
        replicas[replica, default: ReplicaProgress(endOffset: nil, lastFetchMs: nowMs)].lastFetchMs = nowMs
        if voters.contains(replica) { acknowledgeBeginQuorum(from: replica) }
    }

    /// A valid Fetch: the replica's log matches ours up to `endOffset`, which it has flushed.
    func recordFetch(from replica: RaftNodeID, endOffset: Int64, nowMs: Int64) {
        recordContact(from: replica, nowMs: nowMs)
        replicas[replica]?.endOffset = endOffset
    }

    func highWatermarkSent(to replica: RaftNodeID) -> Int64 { replicas[replica]?.highWatermarkSent ?? -1 }

    func noteHighWatermarkSent(_ highWatermark: Int64, to replica: RaftNodeID) {
        replicas[replica]?.highWatermarkSent = highWatermark
    }

    /// The end offset replicated on a majority of voters, counting the leader at its flushed end.
    func majorityEndOffset(localFlushedEnd: Int64) -> Int64 {
        let positions = voters.map { $0 == localID ? localFlushedEnd : (replicas[$0]?.endOffset ?? -1) }
        return positions.sorted(by: >)[majority - 1]
    }

    /// The new high watermark, if the majority position may be exposed and moves it forward.
    func newHighWatermark(localFlushedEnd: Int64, current: Int64, faults: RaftTestingFaults) -> Int64? {
        let candidate = majorityEndOffset(localFlushedEnd: localFlushedEnd)
        let coversOwnEpoch = candidate > epochStartOffset || faults.contains(.commitBeforeOwnEpochEntry)
        return coversOwnEpoch && candidate > current ? candidate : nil
    }

    /// Check quorum: the time by which the leader must have heard from a majority (itself included) again.
    var checkQuorumDeadlineMs: Int64 {
        let others = majority - 1
        guard others > 0 else { return .max }
        let recent = voters.filter { $0 != localID }.map { replicas[$0]?.lastFetchMs ?? .min }.sorted(by: >)
        return recent[others - 1] &+ checkQuorumTimeoutMs
    }

    /// Voters other than the leader, most caught up first: the order to suggest successors in.
    var successorsByProgress: [RaftNodeID] {
        voters.filter { $0 != localID }.sorted {
            (replicas[$0]?.endOffset ?? -1, -$0) > (replicas[$1]?.endOffset ?? -1, -$1)
        }
    }
}
