import XCTest
@testable import CrucibleRaft

// Pull replication: fetch validation, divergence truncation, the high watermark rule, snapshots, timeouts.

final class ReplicationTests: XCTestCase {
    /// A leader of `epoch` for voters 1...3, elected over `entries` (its leader-change entry follows them).
    private func makeLeader(epoch: Int32, entries: [RaftEntry], voters: [RaftNodeID] = [1, 2, 3],
                            configure: (inout RaftConfig) -> Void = { _ in }) -> RaftNode {
        let node = makeNode(1, voters: voters, election: ElectionState(epoch: epoch - 1), entries: entries,
                            configure: configure)
        let candidacy = node.tick(nowMs: 2_000)
        for voter in voters where voter != 1 {
            _ = node.receive(RaftMessage(source: voter, destination: 1, correlationID: candidacy.sent[0].correlationID,
                                         body: .voteResponse(VoteResponse(errorCode: .none,
                                                                          current: LeaderAndEpoch(leaderID: nil, epoch: epoch),
                                                                          voteGranted: true))), nowMs: 2_001)
        }
        precondition(node.role == .leader && node.epoch == epoch)
        _ = node.logFlushed(upTo: node.log.endOffset, nowMs: 2_002)
        return node
    }

    /// Starts follower `id` of `leader` on `entries` and runs the pair until quiet; returns the follower and
    /// every action it performed.
    private func catchUp(_ id: RaftNodeID, with leader: RaftNode, entries: [RaftEntry], nowMs: Int64)
        -> (follower: RaftNode, actions: [RaftAction]) {
        let (follower, started) = makeStartedNode(id, election: ElectionState(epoch: leader.epoch, leaderID: 1),
                                                  entries: entries, nowMs: nowMs)
        let network = TinyNetwork([leader, follower])
        network.nowMs = nowMs
        network.perform(started, on: id)
        network.deliverAll()
        return (follower, network.performed[id, default: []])
    }

    private func fetch(_ leader: RaftNode, from replica: RaftNodeID, offset: Int64, lastEpoch: Int32,
                       nowMs: Int64 = 2_100, maxWaitMs: Int64 = 0) -> [RaftAction] {
        leader.receive(RaftMessage(source: replica, destination: 1, correlationID: 42, body: .fetchRequest(FetchRequest(
            replicaID: replica, currentLeaderEpoch: leader.epoch, fetchOffset: offset, lastFetchedEpoch: lastEpoch,
            maxWaitMs: maxWaitMs))), nowMs: nowMs)
    }

    func testFetchValidationFindsDivergenceAndSnapshots() {
        let log = RaftLog(snapshot: nil, entries: makeEntries(epochs: [1, 1, 3, 3, 5]))
        XCTAssertEqual(log.validateFetch(offset: 3, lastFetchedEpoch: 3), .valid)
        XCTAssertEqual(log.validateFetch(offset: 0, lastFetchedEpoch: 0), .valid)
        XCTAssertEqual(log.validateFetch(offset: 4, lastFetchedEpoch: 2), .diverging(OffsetAndEpoch(offset: 2, epoch: 1)))
        XCTAssertEqual(log.validateFetch(offset: 7, lastFetchedEpoch: 5), .diverging(OffsetAndEpoch(offset: 5, epoch: 5)),
                       "a follower longer than the leader in the same epoch truncates to the leader's end")
        let snapshot = RaftSnapshot(id: SnapshotID(offset: 3, epoch: 3), data: [])
        let trimmed = RaftLog(snapshot: snapshot, entries: makeEntries(epochs: [3, 5], from: 3))
        XCTAssertEqual(trimmed.validateFetch(offset: 1, lastFetchedEpoch: 1), .snapshot(snapshot.id))
        XCTAssertEqual(trimmed.validateFetch(offset: 3, lastFetchedEpoch: 3), .valid)
        XCTAssertEqual(trimmed.validateFetch(offset: 4, lastFetchedEpoch: 2), .snapshot(snapshot.id),
                       "the divergence lies inside the snapshot")
    }

    func testFollowerTruncatesToTrueDivergencePointNotItsHighWatermark() {
        // Follower: 1 1 2 2 2 (epoch 2 entries never committed). Leader of epoch 4: 1 1 3 3 + leader change.
        let leader = makeLeader(epoch: 4, entries: makeEntries(epochs: [1, 1, 3, 3]))
        let (follower, actions) = catchUp(2, with: leader, entries: makeEntries(epochs: [1, 1, 2, 2, 2]), nowMs: 2_100)
        let truncations = actions.compactMap { action -> Int64? in
            if case .truncateLog(let offset) = action { return offset } else { return nil }
        }
        XCTAssertEqual(truncations, [2], "truncate exactly where epoch 2 began")
        XCTAssertEqual(follower.log.entries.map(\.epoch), [1, 1, 3, 3, 4])
        XCTAssertEqual(follower.log.entries, leader.log.entries)
        XCTAssertEqual(leader.highWatermark, 5)
        XCTAssertEqual(follower.highWatermark, 5)
    }

    func testHighWatermarkWaitsForAnEntryOfTheLeadersOwnEpoch() {
        // Entries 0..<3 of epoch 1 are uncommitted; the leader of epoch 3 appends its leader change at 3.
        let leader = makeLeader(epoch: 3, entries: makeEntries(epochs: [1, 1, 1]))
        XCTAssertEqual(leader.highWatermark, 0)
        let atOldEntries = fetch(leader, from: 2, offset: 3, lastEpoch: 1)
        XCTAssertEqual(leader.highWatermark, 0, "a majority holds 0..<3, but none of them is of epoch 3")
        XCTAssertTrue(atOldEntries.commits.isEmpty)
        let pastOwnEntry = fetch(leader, from: 2, offset: 4, lastEpoch: 3)
        XCTAssertEqual(leader.highWatermark, 4)
        XCTAssertEqual(pastOwnEntry.commits.first?.entries.map(\.offset), [0, 1, 2, 3])
    }

    func testPlantedBugCommitsBeforeOwnEpochEntry() {
        let leader = makeLeader(epoch: 3, entries: makeEntries(epochs: [1, 1, 1])) {
            $0.testingFaults = .commitBeforeOwnEpochEntry
        }
        _ = fetch(leader, from: 2, offset: 3, lastEpoch: 1)
        XCTAssertEqual(leader.highWatermark, 3, "the planted bug does what it says")
    }

    func testLeaderCountsItselfOnlyWhenFlushed() {
        let leader = makeLeader(epoch: 2, entries: [])
        _ = fetch(leader, from: 2, offset: 1, lastEpoch: 2)
        XCTAssertEqual(leader.highWatermark, 1)
        guard case .accepted(let offsets, _, _) = leader.propose([[7]], nowMs: 2_200) else { return XCTFail("not leader") }
        XCTAssertEqual(offsets, 1..<2)
        _ = fetch(leader, from: 2, offset: 2, lastEpoch: 2, nowMs: 2_210)
        XCTAssertEqual(leader.highWatermark, 1, "follower 2 holds offset 1, but the leader has not flushed it yet")
        let flushed = leader.logFlushed(upTo: 2, nowMs: 2_220)
        XCTAssertEqual(leader.highWatermark, 2)
        XCTAssertEqual(flushed.commits.first?.entries.map(\.offset), [1])
    }

    func testLeaderReportsReplicaProgress() {
        let leader = makeLeader(epoch: 2, entries: [])
        _ = fetch(leader, from: 9, offset: 1, lastEpoch: 2, nowMs: 2_150)
        let status = leader.replicaStatus
        XCTAssertEqual(status.map(\.nodeID), [1, 2, 3, 9])
        XCTAssertEqual(status.last, ReplicaStatus(nodeID: 9, isVoter: false, logEndOffset: 1, lastFetchMs: 2_150))
        XCTAssertEqual(status[1].logEndOffset, nil, "voter 2 has not fetched")
        XCTAssertEqual(leader.highWatermark, 0, "an observer does not count toward the majority")
    }

    func testEmptyFetchIsHeldUntilThereIsNews() {
        let leader = makeLeader(epoch: 2, entries: [])
        _ = fetch(leader, from: 2, offset: 1, lastEpoch: 2, maxWaitMs: 500)
        let parked = fetch(leader, from: 2, offset: 1, lastEpoch: 2, nowMs: 2_150, maxWaitMs: 500)
        XCTAssertTrue(parked.sent.isEmpty, "nothing new: the fetch waits")
        guard case .accepted(_, _, let actions) = leader.propose([[1]], nowMs: 2_160) else { return XCTFail("not leader") }
        XCTAssertEqual(actions.sent.first?.fetchResponse?.entries.map(\.offset), [1])
        _ = fetch(leader, from: 2, offset: 2, lastEpoch: 2, nowMs: 2_170, maxWaitMs: 500)
        XCTAssertTrue(leader.tick(nowMs: 2_600).sent.isEmpty)
        XCTAssertEqual(leader.tick(nowMs: 2_700).sent.first?.fetchResponse?.entries, [], "answered empty at its deadline")
    }

    func testFollowerInstallsSnapshotThenContinuesFetching() {
        let leader = makeLeader(epoch: 2, entries: makeEntries(epochs: [1, 1, 1, 1])) { $0.snapshotChunkBytesMax = 3 }
        _ = fetch(leader, from: 2, offset: 5, lastEpoch: 2)
        XCTAssertEqual(leader.highWatermark, 5)
        let data: [UInt8] = Array(1...8)
        _ = leader.snapshotTaken(endOffset: 4, data: data, nowMs: 2_200)
        XCTAssertEqual(leader.log.startOffset, 4)

        let (follower, actions) = catchUp(3, with: leader, entries: [], nowMs: 2_300)
        let installed = actions.compactMap { action -> RaftSnapshot? in
            if case .installSnapshot(let snapshot) = action { return snapshot } else { return nil }
        }
        XCTAssertEqual(installed, [RaftSnapshot(id: SnapshotID(offset: 4, epoch: 1), data: data)], "three chunks joined")
        XCTAssertEqual(follower.log.startOffset, 4)
        XCTAssertEqual(follower.log.entries, leader.log.entries, "then the entries after the snapshot")
        XCTAssertEqual(follower.highWatermark, 5)
    }

    func testFetchTimeoutMakesFollowerACandidate() {
        let follower = makeNode(2, election: ElectionState(epoch: 3, leaderID: 1))
        XCTAssertEqual(follower.nextDeadlineMs, 2_000, "the fetch timeout comes before the fetch's own timeout")
        _ = follower.tick(nowMs: 1_999)
        XCTAssertEqual(follower.role, .follower)
        let actions = follower.tick(nowMs: 2_000)
        XCTAssertEqual(follower.role, .candidate)
        XCTAssertEqual(follower.epoch, 4)
        XCTAssertEqual(actions.sent.compactMap(\.voteRequest).count, 2)
    }

    func testStaleOrDuplicatedFetchResponsesAreIgnored() {
        let leader = makeLeader(epoch: 2, entries: makeEntries(epochs: [1, 1]))
        let follower = RaftNode(config: RaftConfig(nodeID: 2, voters: [1, 2, 3]),
                                durable: RaftDurableState(election: ElectionState(epoch: 2, leaderID: 1),
                                                          entries: makeEntries(epochs: [1, 1])),
                                random: SplitMix64(seed: 1), nowMs: 0)
        let request = follower.start(nowMs: 0).sent[0]
        let answer = leader.receive(request, nowMs: 2_100).sent[0]
        XCTAssertEqual(answer.fetchResponse?.entries.count, 1)
        let first = follower.receive(answer, nowMs: 2_110)
        XCTAssertTrue(first.contains(.appendToLog([leader.log.entries[2]])))
        XCTAssertTrue(follower.receive(answer, nowMs: 2_120).isEmpty, "a duplicate is an answer to no request")
        var stale = answer
        stale.correlationID &-= 1
        XCTAssertTrue(follower.receive(stale, nowMs: 2_130).isEmpty)
        XCTAssertEqual(follower.log.endOffset, 3)
    }

    func testFlushBeforeTruncationDoesNotCoverEntriesWrittenAgain() {
        var log = RaftLog(snapshot: nil, entries: [])
        log.append(makeEntries(epochs: [1, 1, 1]))
        let flushTo = log.requestFlush()
        log.truncate(toOffset: 1)
        log.append(makeEntries(epochs: [2, 2], from: 1))
        XCTAssertTrue(log.flushCompleted(upTo: flushTo))
        XCTAssertEqual(log.flushedEndOffset, 1, "entries 1 and 2 were rewritten after that flush was asked for")
    }

    func testResigningLeaderHandsOverToMostCaughtUpVoter() {
        let leader = makeLeader(epoch: 2, entries: [])
        _ = fetch(leader, from: 3, offset: 1, lastEpoch: 2)
        let actions = leader.resign(nowMs: 2_300)
        XCTAssertEqual(leader.role, .resigned)
        let endQuorum = actions.sent.compactMap { message -> EndQuorumEpochRequest? in
            if case .endQuorumEpochRequest(let request) = message.body { return request } else { return nil }
        }
        XCTAssertEqual(endQuorum.first?.preferredSuccessors, [3, 2])
        let successor = makeNode(3, election: ElectionState(epoch: 2, leaderID: 1))
        _ = successor.receive(RaftMessage(source: 1, destination: 3, correlationID: 5,
                                          body: .endQuorumEpochRequest(endQuorum[0])), nowMs: 100)
        XCTAssertLessThan(successor.nextDeadlineMs, 200, "the first successor stands almost at once, not after 2 s")
        _ = successor.tick(nowMs: successor.nextDeadlineMs)
        XCTAssertEqual(successor.role, .candidate)
    }

    func testThreeNodesElectOneLeaderAndReplicate() {
        let nodes = (1...3).map { makeNode(RaftNodeID($0), seed: UInt64($0)) }
        let network = TinyNetwork(nodes)
        network.run(forMs: 3_000)
        XCTAssertEqual(network.leaders.count, 1)
        guard let leader = network.leaders.first,
              case .accepted(let offsets, _, let actions) = leader.propose([[1], [2]], nowMs: network.nowMs)
        else { return XCTFail("no leader") }
        network.perform(actions, on: leader.config.nodeID)
        network.run(forMs: 1_000)
        for node in nodes { XCTAssertEqual(node.highWatermark, offsets.upperBound) }
    }
}
