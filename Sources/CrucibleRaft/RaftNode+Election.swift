// Elections and leadership announcements: Vote, BeginQuorumEpoch, EndQuorumEpoch.

extension RaftNode {
    func handleVoteRequest(_ request: VoteRequest, message: RaftMessage) {
        let candidateIsVoter = config.voters.contains(request.candidateID)
        if request.candidateEpoch > epoch, candidateIsVoter {
            pending += quorum.toUnattached(epoch: request.candidateEpoch, nowMs: nowMs)
        }
        var granted = false
        if request.candidateEpoch == epoch, candidateIsVoter, config.isVoter {
            let candidateEnd = OffsetAndEpoch(offset: request.lastOffset, epoch: request.lastOffsetEpoch)
            let upToDate = OffsetAndEpoch.isAtLeastAsUpToDate(candidateEnd, as: log.end)
                || config.testingFaults.contains(.grantVoteWithoutLogCheck)
            granted = quorum.current.canGrantVote(to: request.candidateID, candidateLogIsUpToDate: upToDate)
            // The vote is persisted by this transition before the response below is sent.
            if granted, quorum.current is UnattachedState {
                pending += quorum.toVoted(for: request.candidateID, nowMs: nowMs)
            }
        }
        let error: RaftErrorCode = candidateIsVoter && config.isVoter ? .none : .inconsistentVoterSet
        respond(to: message, with: .voteResponse(VoteResponse(errorCode: error, current: quorum.leaderAndEpoch,
                                                               voteGranted: granted)))
    }

    func handleVoteResponse(_ response: VoteResponse, from voter: RaftNodeID) {
        guard acceptResponse(from: response.current), let candidate = quorum.current as? CandidateState,
              response.errorCode == .none else { return }
        candidate.record(vote: response.voteGranted, from: voter)
    }

    /// Won: lead, and write the leader-change entry so there is an entry of this epoch to commit.
    func becomeLeader() {
        let epochStartOffset = log.endOffset
        pending += quorum.toLeader(epochStartOffset: epochStartOffset, nowMs: nowMs)
        guard let leader = quorum.current as? LeaderState else { preconditionFailure("not leader after election") }
        appendAsLeader([.leaderChange(leaderID: config.nodeID, voters: config.voters)], leader: leader)
    }

    func handleBeginQuorumEpoch(_ request: BeginQuorumEpochRequest, message: RaftMessage) {
        let newLeader = request.leaderEpoch > epoch || (request.leaderEpoch == epoch && leaderID == nil)
        if newLeader, request.leaderID != config.nodeID {
            pending += quorum.toFollower(epoch: request.leaderEpoch, leader: request.leaderID, nowMs: nowMs)
        } else if let follower = quorum.current as? FollowerState, follower.epoch == request.leaderEpoch,
                  follower.leader == request.leaderID {
            follower.fetchDeadlineMs = nowMs + config.fetchTimeoutMs
        }
        let error: RaftErrorCode = request.leaderEpoch < epoch ? .fencedLeaderEpoch : .none
        respond(to: message, with: .beginQuorumEpochResponse(QuorumEpochResponse(errorCode: error,
                                                                                 current: quorum.leaderAndEpoch)))
    }

    func handleBeginQuorumEpochResponse(_ response: QuorumEpochResponse, from voter: RaftNodeID) {
        guard acceptResponse(from: response.current), let leader = quorum.current as? LeaderState else { return }
        leader.acknowledgeBeginQuorum(from: voter)
    }

    /// The leader of `leaderEpoch` is stepping down: stand for election soon, sooner the more caught up this
    /// node was (its rank among the preferred successors), instead of waiting for the fetch timeout.
    func handleEndQuorumEpoch(_ request: EndQuorumEpochRequest, message: RaftMessage) {
        if request.leaderEpoch > epoch {
            pending += quorum.toUnattached(epoch: request.leaderEpoch, nowMs: nowMs)
        }
        if request.leaderEpoch == epoch, config.isVoter {
            let deadline = nowMs + successorBackoffMs(rank: request.preferredSuccessors.firstIndex(of: config.nodeID))
            switch quorum.current {
            case let follower as FollowerState where follower.leader == request.leaderID:
                follower.fetchDeadlineMs = min(follower.fetchDeadlineMs, deadline)
            case let unattached as UnattachedState:
                unattached.electionDeadlineMs = min(unattached.electionDeadlineMs, deadline)
            case let voted as VotedState:
                voted.electionDeadlineMs = min(voted.electionDeadlineMs, deadline)
            default:
                break
            }
        }
        let error: RaftErrorCode = request.leaderEpoch < epoch ? .fencedLeaderEpoch : .none
        respond(to: message, with: .endQuorumEpochResponse(QuorumEpochResponse(errorCode: error,
                                                                               current: quorum.leaderAndEpoch)))
    }

    func handleEndQuorumEpochResponse(_ response: QuorumEpochResponse, from voter: RaftNodeID) {
        // A voter that moved to a newer epoch has acknowledged the resignation as well as one that says so.
        if response.current.epoch >= epoch, let resigned = quorum.current as? ResignedState {
            resigned.acknowledge(from: voter)
        }
        _ = acceptResponse(from: response.current)
    }

    /// The first preferred successor goes at once, each next one waits twice as long, all with a little jitter
    /// so that two of them rarely split the vote; a voter not on the list waits a normal election timeout.
    private func successorBackoffMs(rank: Int?) -> Int64 {
        guard let rank else { return quorum.random.next(in: config.electionTimeoutMs..<(2 * config.electionTimeoutMs)) }
        let base = rank == 0 ? 0 : min(config.electionBackoffMaxMs, config.retryBackoffMs << Int64(min(rank, 20)))
        return base + quorum.random.next(in: 0..<max(1, config.retryBackoffMs))
    }
}
