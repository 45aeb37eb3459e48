// A leader that stepped down in `epoch` (graceful shutdown or lost quorum). It stays the epoch's leader on
// record, tells the voters with EndQuorumEpoch so that one of them stands for election at once, and stands
// itself after an election timeout if nobody else has.

final class ResignedState: EpochState {
    let epoch: Int32
    let localID: RaftNodeID
    let preferredSuccessors: [RaftNodeID]
    private(set) var unacknowledged: Set<RaftNodeID>
    var electionDeadlineMs: Int64
    var resendDeadlineMs: Int64

    init(epoch: Int32, localID: RaftNodeID, preferredSuccessors: [RaftNodeID], electionDeadlineMs: Int64) {
        self.epoch = epoch
        self.localID = localID
        self.preferredSuccessors = preferredSuccessors
        self.unacknowledged = Set(preferredSuccessors)
        self.electionDeadlineMs = electionDeadlineMs
        self.resendDeadlineMs = .min
    }

    var role: RaftRole { .resigned }
    var leaderID: RaftNodeID? { localID }
    var election: ElectionState { ElectionState(epoch: epoch, votedFor: localID, leaderID: localID) }
    var nextDeadlineMs: Int64 { unacknowledged.isEmpty ? electionDeadlineMs : min(electionDeadlineMs, resendDeadlineMs) }

    func canGrantVote(to candidate: RaftNodeID, candidateLogIsUpToDate: Bool) -> Bool { false }

    func acknowledge(from voter: RaftNodeID) { unacknowledged.remove(voter) }
}
