// This node stands for election in `epoch`, having voted for itself. It wins with votes from a majority of
// the voters; if the (randomised) election timeout passes first it tries again in the next epoch.

final class CandidateState: EpochState {
    let epoch: Int32
    let localID: RaftNodeID
    let voters: [RaftNodeID]
    private(set) var granted: Set<RaftNodeID>
    private(set) var rejected: Set<RaftNodeID> = []
    var electionDeadlineMs: Int64
    /// When to ask again the voters that have not answered (requests may be lost).
    var resendDeadlineMs: Int64

    init(epoch: Int32, localID: RaftNodeID, voters: [RaftNodeID], electionDeadlineMs: Int64, resendDeadlineMs: Int64) {
        precondition(voters.contains(localID), "only a voter can stand for election")
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
    var nextDeadlineMs: Int64 { min(electionDeadlineMs, resendDeadlineMs) }
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
