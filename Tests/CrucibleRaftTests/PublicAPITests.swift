import CrucibleRaft
import XCTest

// Uses only the public surface (no @testable), as the broker layer will: decode wire messages into the core's
// types, drive a one-voter quorum, read the log and the quorum status.

final class PublicAPITests: XCTestCase {
    func testBrokerCanDriveTheCoreThroughThePublicAPI() {
        let node = RaftNode(config: RaftConfig(nodeID: 1, voters: [1]), durable: RaftDurableState(),
                            random: SplitMix64(seed: 1), nowMs: 0)
        var actions = node.start(nowMs: 0)
        actions += node.tick(nowMs: node.nextDeadlineMs)
        XCTAssertEqual(node.role, .leader, "a lone voter elects itself")
        guard case .accepted(let offsets, _, let appended) = node.propose([[1, 2, 3]], nowMs: 2_000) else {
            return XCTFail("not leader")
        }
        actions += appended
        var flushes: [Int64] = []
        for case .flushLog(let upTo) in actions { flushes.append(upTo) }
        for upTo in flushes { actions += node.logFlushed(upTo: upTo, nowMs: 2_001) }
        XCTAssertEqual(node.highWatermark, offsets.upperBound)
        XCTAssertEqual(node.log.entry(at: offsets.lowerBound)?.payload, .records([1, 2, 3]))
        XCTAssertEqual(node.replicaStatus.first?.logEndOffset, node.log.endOffset)

        let request = RaftMessage(source: 2, destination: 1, correlationID: 9, body: .fetchRequest(FetchRequest(
            replicaID: 2, currentLeaderEpoch: node.epoch, fetchOffset: 0, lastFetchedEpoch: 0, maxWaitMs: 0)))
        let answer = node.receive(request, nowMs: 2_002)
        guard case .send(let response) = answer.first, case .fetchResponse(let fetched) = response.body else {
            return XCTFail("no fetch response")
        }
        XCTAssertEqual(response.correlationID, 9)
        XCTAssertEqual(fetched.entries.count, Int(node.log.endOffset))
        XCTAssertEqual(fetched.highWatermark, node.highWatermark)
        _ = VoteRequest(candidateEpoch: 1, candidateID: 2, lastOffsetEpoch: 0, lastOffset: 0)
        _ = FetchSnapshotRequest(replicaID: 2, currentLeaderEpoch: 1, snapshotID: SnapshotID(offset: 1, epoch: 1), position: 0)
    }
}
