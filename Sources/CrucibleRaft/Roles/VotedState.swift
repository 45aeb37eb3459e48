// An epoch in which this node has cast its (durable) vote. It grants the same vote again, for a candidate whose
// request or response was lost or duplicated, and nobody else's.

final class VotedState: EpochState {
    let epoch: Int32
    let votedFor: RaftNodeID
    var electionDeadlineMs: Int64

    init(epoch: Int32, votedFor: RaftNodeID, electionDeadlineMs: Int64) {
        self.epoch = epoch
        self.votedFor = votedFor
        self.electionDeadlineMs = electionDeadlineMs
    }

    var role: RaftRole { .voted }
    var leaderID: RaftNodeID? { nil }
    var election: ElectionState { ElectionState(epoch: epoch, votedFor: votedFor) }
    var nextDeadlineMs: Int64 { electionDeadlineMs }

    func canGrantVote(to candidate: RaftNodeID, candidateLogIsUpToDate: Bool) -> Bool {
        candidate == votedFor
    }
}
