import CrucibleGroups
import CrucibleProtocol
import CrucibleTransactions
import XCTest

/// The coordinator's answers, state by state, with every write completing at once unless a test says otherwise.
final class TxnShardTests: XCTestCase {
    var shard = TxnShard(settings: TxnSettings(), coordinatorEpoch: 4)
    var now: Int64 = 1_000
    var nextToken: UInt64 = 1
    let p0 = TopicPartitionKey("t", 0), p1 = TopicPartitionKey("t", 1)

    /// Runs one request, completing every write it causes (and the writes those cause) successfully.
    @discardableResult
    func run(_ request: (inout TxnShard, TxnToken) -> [TxnEffect]) -> (reply: TxnReply?, effects: [TxnEffect]) {
        let token = TxnToken(nextToken)
        nextToken += 1
        var pending = request(&shard, token)
        var all: [TxnEffect] = []
        var reply: TxnReply?
        while !pending.isEmpty {
            let effect = pending.removeFirst()
            all.append(effect)
            switch effect {
            case .append(let writeId, _): pending += shard.writeCompleted(writeId, error: .none, nowMs: now)
            case .reply(let t, let r) where t == token: reply = r
            default: break
            }
        }
        return (reply, all)
    }

    func initProducer(_ id: String = "tx", timeoutMs: Int32 = 60_000, fresh: Int64 = 100) -> TxnReply? {
        run { $0.initProducerId(id, timeoutMs: timeoutMs, expected: nil, freshProducerId: fresh, token: $1, nowMs: now) }.reply
    }

    func testInitGivesEpochZeroThenBumpsItAndAnExhaustedEpochGetsANewProducerId() {
        XCTAssertEqual(initProducer(), .initProducerId(.none, producerId: 100, producerEpoch: 0))
        XCTAssertEqual(initProducer(fresh: 101), .initProducerId(.none, producerId: 100, producerEpoch: 1))
        var settings = TxnSettings()
        settings.maxEpoch = 2
        shard = TxnShard(settings: settings, coordinatorEpoch: 0)
        _ = initProducer(); _ = initProducer(); _ = initProducer()
        XCTAssertEqual(initProducer(fresh: 555), .initProducerId(.none, producerId: 555, producerEpoch: 0))
    }

    func testBadTimeoutsAndEmptyIdsAreRefused() {
        XCTAssertEqual(initProducer(timeoutMs: 0), .initProducerId(.invalidTransactionTimeout, producerId: -1, producerEpoch: -1))
        XCTAssertEqual(initProducer(timeoutMs: 900_001), .initProducerId(.invalidTransactionTimeout, producerId: -1, producerEpoch: -1))
        XCTAssertEqual(initProducer(""), .initProducerId(.invalidRequest, producerId: -1, producerEpoch: -1))
    }

    func testACommitGoesPrepareThenMarkersThenComplete() {
        _ = initProducer()
        XCTAssertEqual(run { $0.addPartitions("tx", producerId: 100, epoch: 0, partitions: [self.p0, self.p1], token: $1, nowMs: self.now) }.reply,
                       .addPartitions(.none))
        let ended = run { $0.endTxn("tx", producerId: 100, epoch: 0, commit: true, token: $1, nowMs: self.now) }
        XCTAssertEqual(ended.reply, .endTxn(.none))
        let job = MarkerJob(transactionalId: "tx", producerId: 100, producerEpoch: 0, commit: true, coordinatorEpoch: 4, partitions: [p0, p1])
        XCTAssertTrue(ended.effects.contains(.sendMarkers(job)))
        XCTAssertEqual(shard.transactions["tx"]?.state, .prepareCommit)
        XCTAssertEqual(run { $0.addPartitions("tx", producerId: 100, epoch: 0, partitions: [self.p0], token: $1, nowMs: self.now) }.reply,
                       .addPartitions(.concurrentTransactions), "no new transaction before the markers are in")
        XCTAssertEqual(run { $0.endTxn("tx", producerId: 100, epoch: 0, commit: true, token: $1, nowMs: self.now) }.reply,
                       .endTxn(.concurrentTransactions))
        run { shard, _ in shard.markersWritten(job, nowMs: self.now) }
        XCTAssertEqual(shard.transactions["tx"]?.state, .completeCommit)
        XCTAssertEqual(run { $0.endTxn("tx", producerId: 100, epoch: 0, commit: true, token: $1, nowMs: self.now) }.reply,
                       .endTxn(.none), "a retried commit is answered as done")
        XCTAssertEqual(run { $0.endTxn("tx", producerId: 100, epoch: 0, commit: false, token: $1, nowMs: self.now) }.reply,
                       .endTxn(.invalidTxnState))
    }

    func testAStaleEpochOrAnotherProducerIdIsRefused() {
        _ = initProducer()
        _ = initProducer()
        XCTAssertEqual(run { $0.addPartitions("tx", producerId: 100, epoch: 0, partitions: [self.p0], token: $1, nowMs: self.now) }.reply,
                       .addPartitions(.producerFenced))
        XCTAssertEqual(run { $0.endTxn("tx", producerId: 7, epoch: 1, commit: true, token: $1, nowMs: self.now) }.reply,
                       .endTxn(.invalidProducerIdMapping))
        XCTAssertEqual(run { $0.endTxn("unknown", producerId: 100, epoch: 1, commit: true, token: $1, nowMs: self.now) }.reply,
                       .endTxn(.invalidProducerIdMapping))
    }

    func testANewInstanceAbortsTheOpenTransactionUnderTheNextEpochAndRetries() {
        _ = initProducer()
        run { $0.addPartitions("tx", producerId: 100, epoch: 0, partitions: [self.p0], token: $1, nowMs: self.now) }
        let fenced = run { $0.initProducerId("tx", timeoutMs: 60_000, expected: nil, freshProducerId: 1, token: $1, nowMs: self.now) }
        XCTAssertEqual(fenced.reply, .initProducerId(.concurrentTransactions, producerId: -1, producerEpoch: -1))
        XCTAssertTrue(fenced.effects.contains(.sendMarkers(MarkerJob(transactionalId: "tx", producerId: 100, producerEpoch: 1, commit: false,
                                                                      coordinatorEpoch: 4, partitions: [p0]))))
        run { shard, _ in
            shard.markersWritten(MarkerJob(transactionalId: "tx", producerId: 100, producerEpoch: 1, commit: false,
                                           coordinatorEpoch: 4, partitions: [self.p0]), nowMs: self.now)
        }
        XCTAssertEqual(initProducer(), .initProducerId(.none, producerId: 100, producerEpoch: 2))
    }

    func testATransactionPastItsTimeoutIsAbortedWithAFencingEpoch() {
        _ = initProducer(timeoutMs: 500)
        run { $0.addPartitions("tx", producerId: 100, epoch: 0, partitions: [self.p1], token: $1, nowMs: self.now) }
        XCTAssertTrue(run { shard, _ in shard.tick(nowMs: self.now + 499) }.effects.isEmpty)
        let aborted = run { shard, _ in shard.tick(nowMs: self.now + 500) }
        XCTAssertTrue(aborted.effects.contains(.sendMarkers(MarkerJob(transactionalId: "tx", producerId: 100, producerEpoch: 1, commit: false,
                                                                      coordinatorEpoch: 4, partitions: [p1]))))
        XCTAssertEqual(run { $0.endTxn("tx", producerId: 100, epoch: 0, commit: true, token: $1, nowMs: self.now) }.reply,
                       .endTxn(.producerFenced))
    }

    func testANewCoordinatorResendsTheMarkersOfEveryPreparedTransaction() {
        let prepared = TransactionLogValue(producerId: 9, producerEpoch: 3, timeoutMs: 1_000, state: .prepareAbort, partitions: [p0],
                                           lastUpdateMs: 1, startMs: 1)
        let done = TransactionLogValue(producerId: 8, producerEpoch: 0, timeoutMs: 1_000, state: .completeCommit, partitions: [],
                                       lastUpdateMs: 1, startMs: 1)
        var loaded = TxnShard.loaded(from: [TransactionLogRecord(transactionalId: "a", value: prepared),
                                                       TransactionLogRecord(transactionalId: "b", value: done),
                                                       TransactionLogRecord(transactionalId: "c", value: done),
                                                       TransactionLogRecord(transactionalId: "c", value: nil)],
                                                settings: TxnSettings(), coordinatorEpoch: 12)
        XCTAssertEqual(loaded.resume(nowMs: 5), [.sendMarkers(MarkerJob(transactionalId: "a", producerId: 9, producerEpoch: 3, commit: false,
                                                        coordinatorEpoch: 12, partitions: [p0]))])
        XCTAssertEqual(loaded.transactions.keys.sorted(), ["a", "b"])
    }

    func testAFailedWriteChangesNothingAndAnUnloadAnswersNotCoordinator() {
        let effects = shard.initProducerId("tx", timeoutMs: 1_000, expected: nil, freshProducerId: 1, token: TxnToken(50), nowMs: now)
        guard case .append(let writeId, _) = effects.first else { return XCTFail("\(effects)") }
        XCTAssertEqual(shard.writeCompleted(writeId, error: .notEnoughReplicas, nowMs: now),
                       [.reply(TxnToken(50), .initProducerId(.coordinatorNotAvailable, producerId: -1, producerEpoch: -1))])
        XCTAssertNil(shard.transactions["tx"])
        _ = shard.initProducerId("tx", timeoutMs: 1_000, expected: nil, freshProducerId: 1, token: TxnToken(51), nowMs: now)
        XCTAssertEqual(shard.unload(), [.reply(TxnToken(51), .initProducerId(.notCoordinator, producerId: -1, producerEpoch: -1))])
    }
}
