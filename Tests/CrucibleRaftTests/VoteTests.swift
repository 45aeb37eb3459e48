import XCTest
@testable import CrucibleRaft

// Vote granting: one vote per epoch, durable before it is sent, and only for a log at least as up to date.

final class VoteTests: XCTestCase {
    private func voteRequest(epoch: Int32, candidate: RaftNodeID, lastEpoch: Int32, lastOffset: Int64,
                             to destination: RaftNodeID = 1) -> RaftMessage {
        RaftMessage(source: candidate, destination: destination, correlationID: 1, body: .voteRequest(VoteRequest(
            candidateEpoch: epoch, candidateID: candidate, lastOffsetEpoch: lastEpoch, lastOffset: lastOffset)))
    }

    func testLogUpToDateOrdersByLastEpochThenOffset() {
        let at = { (offset: Int64, epoch: Int32) in OffsetAndEpoch(offset: offset, epoch: epoch) }
        XCTAssertTrue(OffsetAndEpoch.isAtLeastAsUpToDate(at(5, 2), as: at(5, 2)))
        XCTAssertTrue(OffsetAndEpoch.isAtLeastAsUpToDate(at(6, 2), as: at(5, 2)))
        XCTAssertFalse(OffsetAndEpoch.isAtLeastAsUpToDate(at(4, 2), as: at(5, 2)))
        XCTAssertTrue(OffsetAndEpoch.isAtLeastAsUpToDate(at(1, 3), as: at(9, 2)), "a later epoch wins even if shorter")
        XCTAssertFalse(OffsetAndEpoch.isAtLeastAsUpToDate(at(9, 1), as: at(2, 2)), "a longer log of an older epoch loses")
    }

    func testGrantsUpToDateCandidateAndPersistsVoteBeforeAnswering() {
        let node = makeNode(1, entries: makeEntries(epochs: [1, 1]))
        let actions = node.receive(voteRequest(epoch: 2, candidate: 2, lastEpoch: 1, lastOffset: 2), nowMs: 10)
        XCTAssertEqual(actions.sent.first?.voteResponse?.voteGranted, true)
        XCTAssertEqual(actions.persisted.last, ElectionState(epoch: 2, votedFor: 2))
        let persistIndex = actions.index { if case .persistElectionState(let s) = $0 { return s.votedFor == 2 }; return false }
        let sendIndex = actions.index { if case .send = $0 { return true }; return false }
        XCTAssertLessThan(persistIndex!, sendIndex!, "the vote must be durable before it is sent")
        XCTAssertEqual(node.role, .voted)
    }

    func testRejectsCandidateWithShorterLogOfSameEpoch() {
        let node = makeNode(1, entries: makeEntries(epochs: [1, 1, 1]))
        let actions = node.receive(voteRequest(epoch: 2, candidate: 2, lastEpoch: 1, lastOffset: 2), nowMs: 10)
        XCTAssertEqual(actions.sent.first?.voteResponse?.voteGranted, false)
        XCTAssertEqual(node.epoch, 2, "the higher epoch is still adopted")
        XCTAssertEqual(node.role, .unattached)
    }

    func testRejectsCandidateWhoseLastEpochIsOlder() {
        let node = makeNode(1, entries: makeEntries(epochs: [1, 2]))
        let actions = node.receive(voteRequest(epoch: 3, candidate: 2, lastEpoch: 1, lastOffset: 10), nowMs: 10)
        XCTAssertEqual(actions.sent.first?.voteResponse?.voteGranted, false)
    }

    func testGrantsShorterCandidateWithLaterLastEpoch() {
        let node = makeNode(1, entries: makeEntries(epochs: [1, 1, 1, 1]))
        let actions = node.receive(voteRequest(epoch: 3, candidate: 2, lastEpoch: 2, lastOffset: 2), nowMs: 10)
        XCTAssertEqual(actions.sent.first?.voteResponse?.voteGranted, true)
    }

    func testOneVotePerEpochButTheSameVoteAgain() {
        let node = makeNode(1)
        XCTAssertEqual(node.receive(voteRequest(epoch: 1, candidate: 2, lastEpoch: 0, lastOffset: 0), nowMs: 1)
            .sent.first?.voteResponse?.voteGranted, true)
        XCTAssertEqual(node.receive(voteRequest(epoch: 1, candidate: 3, lastEpoch: 0, lastOffset: 0), nowMs: 2)
            .sent.first?.voteResponse?.voteGranted, false, "second candidate of the epoch")
        let again = node.receive(voteRequest(epoch: 1, candidate: 2, lastEpoch: 0, lastOffset: 0), nowMs: 3)
        XCTAssertEqual(again.sent.first?.voteResponse?.voteGranted, true, "a lost response may be asked for again")
        XCTAssertTrue(again.persisted.isEmpty, "nothing new to persist")
    }

    func testRejectsStaleEpochAndAnswersWithCurrentOne() {
        let node = makeNode(1, election: ElectionState(epoch: 5))
        let response = node.receive(voteRequest(epoch: 4, candidate: 2, lastEpoch: 0, lastOffset: 0), nowMs: 1)
            .sent.first?.voteResponse
        XCTAssertEqual(response?.voteGranted, false)
        XCTAssertEqual(response?.current.epoch, 5)
    }

    func testFollowerWithALeaderGrantsNoVoteInItsEpoch() {
        let node = makeNode(1, election: ElectionState(epoch: 3, leaderID: 2))
        XCTAssertEqual(node.role, .follower)
        let response = node.receive(voteRequest(epoch: 3, candidate: 3, lastEpoch: 0, lastOffset: 0), nowMs: 1)
        XCTAssertEqual(response.sent.first?.voteResponse?.voteGranted, false)
    }

    func testObserverNeverVotes() {
        let observer = makeNode(9)
        let response = observer.receive(voteRequest(epoch: 1, candidate: 2, lastEpoch: 0, lastOffset: 0, to: 9), nowMs: 1)
        XCTAssertEqual(response.sent.first?.voteResponse?.voteGranted, false)
        XCTAssertEqual(response.sent.first?.voteResponse?.errorCode, .inconsistentVoterSet)
    }

    func testElectionTimeoutIsRandomisedBetweenOneAndTwoTimeouts() {
        var deadlines: Set<Int64> = []
        for seed in UInt64(0)..<20 {
            let node = makeNode(1, seed: seed)
            XCTAssertEqual(node.role, .unattached)
            XCTAssertGreaterThanOrEqual(node.nextDeadlineMs, 1_000)
            XCTAssertLessThan(node.nextDeadlineMs, 2_000)
            deadlines.insert(node.nextDeadlineMs)
        }
        XCTAssertGreaterThan(deadlines.count, 10)
    }

    func testCandidateWinsWithMajorityAndWritesLeaderChangeEntry() {
        let node = makeNode(1, election: ElectionState(epoch: 1), entries: makeEntries(epochs: [1]))
        let candidacy = node.tick(nowMs: 2_000)
        XCTAssertEqual(node.role, .candidate)
        XCTAssertEqual(candidacy.persisted.last, ElectionState(epoch: 2, votedFor: 1))
        XCTAssertEqual(candidacy.sent.compactMap(\.voteRequest).map(\.lastOffset), [1, 1])
        let grant = RaftMessage(source: 2, destination: 1, correlationID: candidacy.sent[0].correlationID,
                                body: .voteResponse(VoteResponse(errorCode: .none,
                                                                 current: LeaderAndEpoch(leaderID: nil, epoch: 2),
                                                                 voteGranted: true)))
        let won = node.receive(grant, nowMs: 2_010)
        XCTAssertEqual(node.role, .leader)
        XCTAssertTrue(won.contains(.appendToLog([RaftEntry(offset: 1, epoch: 2,
                                                           payload: .leaderChange(leaderID: 1, voters: [1, 2, 3]))])))
        XCTAssertEqual(Set(won.sent.compactMap { message -> RaftNodeID? in
            if case .beginQuorumEpochRequest = message.body { return message.destination } else { return nil }
        }), [2, 3])
    }

    func testRestartedLeaderResignsAndRestartedVoterKeepsItsVote() {
        XCTAssertEqual(makeNode(1, election: ElectionState(epoch: 4, votedFor: 1, leaderID: 1)).role, .resigned)
        let voter = makeNode(1, election: ElectionState(epoch: 4, votedFor: 3))
        XCTAssertEqual(voter.role, .voted)
        let request = RaftMessage(source: 2, destination: 1, correlationID: 1, body: .voteRequest(VoteRequest(
            candidateEpoch: 4, candidateID: 2, lastOffsetEpoch: 0, lastOffset: 0)))
        XCTAssertEqual(voter.receive(request, nowMs: 1).sent.first?.voteResponse?.voteGranted, false)
    }
}
