// The interface every role implements, after Kafka's `EpochState`. Roles hold only what their epoch needs;
// `QuorumState` alone moves a node from one role to the next.

protocol EpochState: AnyObject {
    var epoch: Int32 { get }
    var role: RaftRole { get }
    var leaderID: RaftNodeID? { get }
    /// What the quorum-state file must say while this role lasts.
    var election: ElectionState { get }
    /// Whether a Vote for `candidate` in this same epoch may be granted. `candidateLogIsUpToDate` is the Raft
    /// log comparison; some roles ignore it because they have already decided.
    func canGrantVote(to candidate: RaftNodeID, candidateLogIsUpToDate: Bool) -> Bool
    /// The earliest time a tick has something to do; `Int64.max` when nothing is scheduled.
    var nextDeadlineMs: Int64 { get }
}
