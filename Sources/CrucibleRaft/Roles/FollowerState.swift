// This node knows the leader of `epoch` and pulls the log from it with Fetch (FetchSnapshot when it is too
// far behind). One request is in flight at a time, so a response is matched to it by correlation id and
// stale or duplicated responses are ignored. If the leader is silent for the fetch timeout, a voter stands
// for election and an observer goes back to looking for a leader.

/// A request this node waits an answer for.
struct InflightRequest: Hashable, Sendable {
    var correlationID: Int32
    var timeoutMs: Int64
}

/// A snapshot being fetched chunk by chunk.
struct SnapshotDownload: Sendable {
    var id: SnapshotID
    var bytes: [UInt8] = []
}

final class FollowerState: EpochState {
    let epoch: Int32
    let leader: RaftNodeID
    let votedFor: RaftNodeID?
    var fetchDeadlineMs: Int64
    var inflight: InflightRequest?
    /// Not before this time may the next request go out (backoff after an error).
    var nextRequestAtMs: Int64 = .min
    var snapshotDownload: SnapshotDownload?

    init(epoch: Int32, leader: RaftNodeID, votedFor: RaftNodeID?, fetchDeadlineMs: Int64) {
        self.epoch = epoch
        self.leader = leader
        self.votedFor = votedFor
        self.fetchDeadlineMs = fetchDeadlineMs
    }

    var role: RaftRole { .follower }
    var leaderID: RaftNodeID? { leader }
    var election: ElectionState { ElectionState(epoch: epoch, votedFor: votedFor, leaderID: leader) }

    var nextDeadlineMs: Int64 {
        if let inflight { return min(fetchDeadlineMs, inflight.timeoutMs) }
        return nextRequestAtMs == .min ? fetchDeadlineMs : min(fetchDeadlineMs, nextRequestAtMs)
    }

    /// A follower has a leader in this epoch, so it grants no votes in it.
    func canGrantVote(to candidate: RaftNodeID, candidateLogIsUpToDate: Bool) -> Bool { false }

    /// Whether `correlationID` answers the request in flight; if so it is no longer in flight.
    func takeResponse(correlationID: Int32) -> Bool {
        guard inflight?.correlationID == correlationID else { return false }
        inflight = nil
        return true
    }
}
