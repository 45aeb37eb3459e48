// The one place that moves a node between roles, after Kafka's `QuorumState`. Every transition checks that it
// is allowed, persists the new election state when it differs (before the caller acts on it: the action
// comes first in the step's list) and announces the new role.

struct QuorumState {
    let config: RaftConfig
    private(set) var current: any EpochState
    var random: any RaftRandomSource

    /// The role a node resumes in after a restart, from its quorum-state file.
    init(config: RaftConfig, election: ElectionState, nowMs: Int64, random: any RaftRandomSource) {
        self.config = config
        self.random = random
        let local = config.nodeID
        current = UnattachedState(epoch: election.epoch, electionDeadlineMs: nowMs)
        let electionDeadline = randomElectionDeadline(nowMs: nowMs)
        if election.leaderID == local {
            // It led this epoch before it stopped; it must not lead the same epoch twice from a log that may
            // have lost writes, so it resigns and lets the next election decide.
            current = ResignedState(epoch: election.epoch, localID: local, preferredSuccessors: [],
                                    electionDeadlineMs: electionDeadline)
        } else if let leader = election.leaderID {
            current = FollowerState(epoch: election.epoch, leader: leader, votedFor: election.votedFor,
                                    fetchDeadlineMs: nowMs + config.fetchTimeoutMs)
        } else if election.votedFor == local, config.isVoter {
            current = CandidateState(epoch: election.epoch, localID: local, voters: config.voters,
                                     electionDeadlineMs: electionDeadline, resendDeadlineMs: .min, retries: 1)
        } else if let votedFor = election.votedFor {
            current = VotedState(epoch: election.epoch, votedFor: votedFor, electionDeadlineMs: electionDeadline)
        } else {
            current = UnattachedState(epoch: election.epoch, electionDeadlineMs: electionDeadline)
        }
    }

    var epoch: Int32 { current.epoch }
    var leaderID: RaftNodeID? { current.leaderID }
    var leaderAndEpoch: LeaderAndEpoch { LeaderAndEpoch(leaderID: leaderID, epoch: epoch) }

    mutating func randomElectionDeadline(nowMs: Int64) -> Int64 {
        nowMs + random.next(in: config.electionTimeoutMs..<(2 * config.electionTimeoutMs))
    }

    /// A higher epoch with no leader known yet. An observer may also restart its search in the same epoch.
    mutating func toUnattached(epoch: Int32, nowMs: Int64) -> [RaftAction] {
        precondition(epoch > current.epoch || (!config.isVoter && epoch == current.epoch),
                     "unattached epoch \(epoch) after \(current.epoch)")
        return enter(UnattachedState(epoch: epoch, electionDeadlineMs: randomElectionDeadline(nowMs: nowMs)))
    }

    /// Cast this epoch's vote. Only an unattached voter may vote, and only once per epoch.
    mutating func toVoted(for candidate: RaftNodeID, nowMs: Int64) -> [RaftAction] {
        precondition(current is UnattachedState, "voting from \(current.role)")
        precondition(config.isVoter && config.voters.contains(candidate))
        return enter(VotedState(epoch: current.epoch, votedFor: candidate,
                                electionDeadlineMs: randomElectionDeadline(nowMs: nowMs)))
    }

    mutating func toCandidate(nowMs: Int64) -> [RaftAction] {
        precondition(config.isVoter, "an observer never stands for election")
        precondition(!(current is LeaderState), "a leader resigns before it stands again")
        let retries = ((current as? CandidateState)?.retries ?? 0) + 1
        return enter(CandidateState(epoch: current.epoch + 1, localID: config.nodeID, voters: config.voters,
                                    electionDeadlineMs: randomElectionDeadline(nowMs: nowMs),
                                    resendDeadlineMs: .min, retries: retries))
    }

    /// Kafka's binary exponential election backoff: up to 2^retries steps of the base, at most the maximum.
    mutating func electionBackoffMs(retries: Int) -> Int64 {
        let steps = Int64(1) << Int64(min(retries, 20))
        return min(config.electionBackoffBaseMs * random.next(in: 0..<steps), config.electionBackoffMaxMs)
    }

    mutating func toLeader(epochStartOffset: Int64, nowMs: Int64) -> [RaftAction] {
        guard let candidate = current as? CandidateState, candidate.hasWon else {
            preconditionFailure("only a candidate with a majority becomes leader")
        }
        return enter(LeaderState(epoch: candidate.epoch, localID: config.nodeID, voters: config.voters,
                                 epochStartOffset: epochStartOffset, nowMs: nowMs,
                                 checkQuorumTimeoutMs: config.checkQuorumTimeoutMs))
    }

    /// Follow `leader` in `epoch`: a higher epoch, or this one if no leader was known in it.
    mutating func toFollower(epoch: Int32, leader: RaftNodeID, nowMs: Int64) -> [RaftAction] {
        precondition(leader != config.nodeID, "a node cannot follow itself")
        precondition(epoch > current.epoch || (epoch == current.epoch && current.leaderID == nil),
                     "follow \(leader) in epoch \(epoch) while \(current.role) in \(current.epoch)")
        let votedFor = epoch == current.epoch ? current.election.votedFor : nil
        return enter(FollowerState(epoch: epoch, leader: leader, votedFor: votedFor,
                                   fetchDeadlineMs: nowMs + config.fetchTimeoutMs))
    }

    mutating func toResigned(preferredSuccessors: [RaftNodeID], nowMs: Int64) -> [RaftAction] {
        precondition(current is LeaderState, "only a leader resigns")
        return enter(ResignedState(epoch: current.epoch, localID: config.nodeID,
                                   preferredSuccessors: preferredSuccessors,
                                   electionDeadlineMs: randomElectionDeadline(nowMs: nowMs)))
    }

    private mutating func enter(_ next: any EpochState) -> [RaftAction] {
        precondition(next.epoch >= current.epoch, "epochs never go back")
        var actions: [RaftAction] = []
        if next.election != current.election { actions.append(.persistElectionState(next.election)) }
        actions.append(.roleChanged(role: next.role, epoch: next.epoch, leaderID: next.leaderID))
        current = next
        return actions
    }
}
