import CrucibleGroups
import CrucibleProtocol
import XCTest

/// Offsets committed inside transactions: pending until the marker, dropped on abort, never moving a later
/// plain commit back, unstable to `require_stable` fetches, and rebuilt the same way from the log.
final class TxnOffsetsTests: XCTestCase {
    var shard = GroupShard(settings: GroupSettings(), makeId: { "\($0)-1" })
    let key = TopicPartitionKey("in", 0)
    var nextToken: RequestToken = 1

    /// Runs a commit whose write succeeds; returns the write's records and how it was asked for.
    @discardableResult
    func commit(_ offset: Int64, producerId: Int64? = nil) -> (records: [OffsetsTopicRecord], producer: Int64?) {
        let token = nextToken
        nextToken += 1
        let effects: [GroupEffect]
        if let producerId {
            var request = TxnOffsetCommitRequest()
            request.groupId = "g"
            request.producerId = producerId
            request.producerEpoch = 0
            var topic = TxnOffsetCommitRequest.TxnOffsetCommitRequestTopic()
            topic.name = key.topic
            var partition = TxnOffsetCommitRequest.TxnOffsetCommitRequestPartition()
            partition.committedOffset = offset
            topic.partitions = [partition]
            request.topics = [topic]
            effects = shard.txnCommitOffsets(request, token: token, nowMs: 0, knownTopic: { _ in true })
        } else {
            var request = OffsetCommitRequest()
            request.groupId = "g"
            request.generationIdOrMemberEpoch = -1
            var topic = OffsetCommitRequest.OffsetCommitRequestTopic()
            topic.name = key.topic
            var partition = OffsetCommitRequest.OffsetCommitRequestPartition()
            partition.committedOffset = offset
            topic.partitions = [partition]
            request.topics = [topic]
            effects = shard.commitOffsets(request, version: 8, token: token, nowMs: 0, knownTopic: { _ in true })
        }
        switch effects.first {
        case .append(let id, let records)?:
            _ = shard.writeCompleted(id, error: .none, nowMs: 0)
            return (records, nil)
        case .appendTransactional(let id, let pid, _, let records)?:
            _ = shard.writeCompleted(id, error: .none, nowMs: 0)
            return (records, pid)
        default:
            XCTFail("no write: \(effects)")
            return ([], nil)
        }
    }

    var committed: Int64? { shard.committedOffsets("g", [key])[key]?.offset }

    func testTransactionalOffsetsCountOnCommitAndGoOnAbort() {
        commit(5, producerId: 7)
        XCTAssertNil(committed, "pending until the marker")
        XCTAssertEqual(shard.unstableOffsets("g"), [key])
        shard.completeTransaction(producerId: 7, commit: true)
        XCTAssertEqual(committed, 5)
        XCTAssertTrue(shard.unstableOffsets("g").isEmpty)
        commit(9, producerId: 7)
        shard.completeTransaction(producerId: 7, commit: false)
        XCTAssertEqual(committed, 5)
        XCTAssertTrue(shard.unstableOffsets("g").isEmpty)
    }

    func testAPlainCommitWrittenAfterTheTransactionalOneWins() {
        commit(5, producerId: 7)
        commit(8)
        shard.completeTransaction(producerId: 7, commit: true)
        XCTAssertEqual(committed, 8)
    }

    func testLoadingFollowsTheMarkersAndKeepsAnOpenTransactionPending() {
        let first = commit(3, producerId: 1).records
        let second = commit(6, producerId: 2).records
        let entries: [OffsetsTopicEntry] = first.map { .transactional(producerId: 1, $0) } + [.marker(producerId: 1, commit: true)]
            + second.map { .transactional(producerId: 2, $0) }
        var loaded = GroupShard.loaded(from: entries, settings: GroupSettings(), nowMs: 0, makeId: { $0 })
        XCTAssertEqual(loaded.committedOffsets("g", [key])[key]?.offset, 3)
        XCTAssertEqual(loaded.unstableOffsets("g"), [key])
        loaded.completeTransaction(producerId: 2, commit: true)
        XCTAssertEqual(loaded.committedOffsets("g", [key])[key]?.offset, 6)
    }
}
