// After every input the node does what its role has due: timeouts, retries, long polls coming due. This is
// Kafka's `poll()` loop, run once per step instead of on a thread.

extension RaftNode {
    func poll() {
        // A transition can make more work due at once (a lone voter wins its election immediately), so poll
        // until the role stops changing; the bound guards against a transition loop.
        for _ in 0..<8 {
            let before = quorum.current  // A strong reference, so a new role cannot reuse its address.
            pollCurrentRole()
            if quorum.current === before { return }
        }
        preconditionFailure("roles kept changing within one step")
    }

    private func pollCurrentRole() {
        switch quorum.current {
        case let state as UnattachedState:
            guard nowMs >= state.electionDeadlineMs else { return }
            if config.isVoter {
                pending += quorum.toCandidate(nowMs: nowMs)
            } else {
                discoverLeader(state)
            }
        case let state as VotedState:
            if nowMs >= state.electionDeadlineMs { pending += quorum.toCandidate(nowMs: nowMs) }
        case let state as CandidateState:
            pollCandidate(state)
        case let state as FollowerState:
            pollFollower(state)
        case let state as LeaderState:
            pollLeader(state)
        case let state as ResignedState:
            pollResigned(state)
        default:
            preconditionFailure("unknown role \(quorum.current.role)")
        }
    }

    private func pollCandidate(_ candidate: CandidateState) {
        if candidate.hasWon {
            becomeLeader()
        } else if let backoffDeadline = candidate.backoffDeadlineMs {
            if nowMs >= backoffDeadline { pending += quorum.toCandidate(nowMs: nowMs) }
        } else if nowMs >= candidate.electionDeadlineMs {
            // Split vote, lost requests or a log too far behind: back off, then try in a new epoch.
            candidate.backoffDeadlineMs = nowMs + quorum.electionBackoffMs(retries: candidate.retries)
        } else if nowMs >= candidate.resendDeadlineMs {
            let request = VoteRequest(candidateEpoch: candidate.epoch, candidateID: config.nodeID,
                                      lastOffsetEpoch: log.lastEpoch, lastOffset: log.endOffset)
            for voter in candidate.unanswered where voter != config.nodeID {
                _ = send(.voteRequest(request), to: voter)
            }
            candidate.resendDeadlineMs = nowMs + config.requestTimeoutMs
        }
    }

    private func pollFollower(_ follower: FollowerState) {
        if nowMs >= follower.fetchDeadlineMs {
            if config.isVoter {
                pending += quorum.toCandidate(nowMs: nowMs)
            } else {
                pending += quorum.toUnattached(epoch: epoch, nowMs: nowMs)
            }
            return
        }
        if let inflight = follower.inflight, nowMs >= inflight.timeoutMs { follower.inflight = nil }
        sendFetchIfReady(follower)
    }

    private func pollLeader(_ leader: LeaderState) {
        if nowMs >= leader.checkQuorumDeadlineMs {
            // Cut off from a majority: step down rather than keep answering as a leader nobody follows.
            pending += quorum.toResigned(preferredSuccessors: leader.successorsByProgress, nowMs: nowMs)
            return
        }
        for parked in leader.parkedFetchesInOrder where nowMs >= parked.deadlineMs {
            completeParkedFetch(parked, leader: leader)
        }
        if nowMs >= leader.beginQuorumResendDeadlineMs, !leader.beginQuorumUnacknowledged.isEmpty {
            let request = BeginQuorumEpochRequest(leaderID: config.nodeID, leaderEpoch: leader.epoch)
            for voter in leader.beginQuorumUnacknowledged.sorted() {
                _ = send(.beginQuorumEpochRequest(request), to: voter)
            }
            leader.beginQuorumResendDeadlineMs = nowMs + config.requestTimeoutMs
        }
    }

    private func pollResigned(_ resigned: ResignedState) {
        if nowMs >= resigned.electionDeadlineMs {
            pending += quorum.toCandidate(nowMs: nowMs)
        } else if nowMs >= resigned.resendDeadlineMs, !resigned.unacknowledged.isEmpty {
            let request = EndQuorumEpochRequest(leaderID: config.nodeID, leaderEpoch: resigned.epoch,
                                                preferredSuccessors: resigned.preferredSuccessors)
            for voter in resigned.preferredSuccessors where resigned.unacknowledged.contains(voter) {
                _ = send(.endQuorumEpochRequest(request), to: voter)
            }
            resigned.resendDeadlineMs = nowMs + config.requestTimeoutMs
        }
    }

    /// An observer without a leader asks a random voter; any answer names the leader it knows.
    private func discoverLeader(_ state: UnattachedState) {
        let voter = config.voters[Int(quorum.random.next() % UInt64(config.voters.count))]
        let request = FetchRequest(replicaID: config.nodeID, currentLeaderEpoch: epoch, fetchOffset: log.endOffset,
                                   lastFetchedEpoch: log.lastEpoch, maxWaitMs: 0)
        _ = send(.fetchRequest(request), to: voter)
        state.electionDeadlineMs = nowMs + config.requestTimeoutMs
    }
}
