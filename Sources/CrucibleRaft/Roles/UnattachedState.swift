// An epoch with no leader known and no vote cast: the node waits for a leader or a candidate, and stands for
// election itself when the election timeout expires. An observer uses the timeout to go looking for the
// leader instead.

final class UnattachedState: EpochState {
    let epoch: Int32
    var electionDeadlineMs: Int64

    init(epoch: Int32, electionDeadlineMs: Int64) {
        self.epoch = epoch
        self.electionDeadlineMs = electionDeadlineMs
    }

    var role: RaftRole { .unattached }
    var leaderID: RaftNodeID? { nil }
    var election: ElectionState { ElectionState(epoch: epoch) }
    var nextDeadlineMs: Int64 { electionDeadlineMs }

    func canGrantVote(to candidate: RaftNodeID, candidateLogIsUpToDate: Bool) -> Bool {
        candidateLogIsUpToDate
    }
}
