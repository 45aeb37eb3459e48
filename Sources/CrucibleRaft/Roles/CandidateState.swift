// This node stands for election in `epoch`, having voted for itself. It wins with votes from a majority of
// the voters; if the (randomised) election timeout passes first it backs off for a random, exponentially
// growing while and tries again in the next epoch (Kafka's binary exponential election backoff). The backoff
// matters when this node cannot win, say because its log is behind: each of its candidacies resets everyone's
// election timer, and the wait gives a node that can win the chance to stand first.

final class CandidateState: EpochState {
    let epoch: Int32
    let localID: RaftNodeID
    let voters: [RaftNodeID]
    private(set) var granted: Set<RaftNodeID>
    private(set) var rejected: Set<RaftNodeID> = []
    var electionDeadlineMs: Int64
    /// When to ask again the voters that have not answered (requests may be lost).
    var resendDeadlineMs: Int64
    /// Consecutive candidacies of this node without a win, this one included.
    let retries: Int
    /// Set once the election timed out: stand again in the next epoch at this time.
    var backoffDeadlineMs: Int64?

    init(epoch: Int32, localID: RaftNodeID, voters: [RaftNodeID], electionDeadlineMs: Int64, resendDeadlineMs: Int64,
         retries: Int) {
        precondition(voters.contains(localID), "only a voter can stand for election")
        precondition(retries >= 1)
        self.retries = retries
        self.epoch = epoch
        self.localID = localID
        self.voters = voters
        self.granted = [localID]
        self.electionDeadlineMs = electionDeadlineMs
        self.resendDeadlineMs = resendDeadlineMs
    }

    var role: RaftRole { .candidate }
    var leaderID: RaftNodeID? { nil }
    var election: ElectionState { ElectionState(epoch: epoch, votedFor: localID) }
    var nextDeadlineMs: Int64 { backoffDeadlineMs ?? min(electionDeadlineMs, resendDeadlineMs) }
    var majority: Int { voters.count / 2 + 1 }
    var hasWon: Bool { granted.count >= majority }
    var unanswered: [RaftNodeID] { voters.filter { !granted.contains($0) && !rejected.contains($0) } }

    func canGrantVote(to candidate: RaftNodeID, candidateLogIsUpToDate: Bool) -> Bool {
        candidate == localID
    }

    func record(vote granted: Bool, from voter: RaftNodeID) {
        guard voters.contains(voter), !self.granted.contains(voter), !rejected.contains(voter) else { return }
        if granted { self.granted.insert(voter) } else { rejected.insert(voter) }
    }
}
