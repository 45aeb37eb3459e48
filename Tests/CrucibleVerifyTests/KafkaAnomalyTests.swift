// Each Kafka anomaly type on small hand-made histories, positive and negative.
import CrucibleVerify
import XCTest

final class KafkaAnomalyTests: XCTestCase {
    private func assertFinds(_ h: KafkaHistoryBuilder, _ type: String, ops: [Int]? = nil, valid: Validity = .invalid,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try h.check()
        XCTAssertTrue(a.anomalyTypes.contains(type), "expected \(type), found \(a.anomalyTypes)", file: file, line: line)
        XCTAssertEqual(a.validity, valid, "\(a.anomalyTypes)", file: file, line: line)
        if let ops { XCTAssertEqual(a.anomalies(ofType: type).first?.ops, ops, file: file, line: line) }
    }

    private func assertClean(_ h: KafkaHistoryBuilder, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try h.check()
        XCTAssertEqual(a.anomalyTypes, [], file: file, line: line)
        XCTAssertEqual(a.validity, .valid, file: file, line: line)
    }

    /// Sends 1, 2, 3 to key 0 at offsets 0, 1, 2 (process 0).
    private func threeSends() -> KafkaHistoryBuilder {
        var h = KafkaHistoryBuilder()
        h.send(0, 0, 1, at: 0)
        h.send(0, 0, 2, at: 1)
        h.send(0, 0, 3, at: 2)
        return h
    }

    func testCleanHistoryWithEmptyPollsIsValid() throws {
        var h = threeSends()
        h.assign(1, [0])
        h.poll(1, [])
        h.poll(1, [(0, [(0, 1), (1, 2)])])
        h.poll(1, [(0, [])])
        h.poll(1, [(0, [(2, 3)])])
        try assertClean(h)
    }

    func testInconsistentOffsets() throws {
        var h = threeSends()
        h.poll(1, [(0, [(0, 1), (1, 2), (2, 3)])])
        let bad = h.poll(2, [(0, [(0, 9)])])
        try assertFinds(h, "inconsistent-offsets")
        XCTAssertTrue(try h.check().anomalies(ofType: "inconsistent-offsets")[0].ops.contains(bad))
        var ok = threeSends()
        ok.poll(1, [(0, [(0, 1), (1, 2), (2, 3)])])
        ok.poll(2, [(0, [(0, 1)])])
        try assertClean(ok)
    }

    func testDuplicate() throws {
        var h = KafkaHistoryBuilder()
        h.send(0, 0, 1, at: 0)
        h.poll(1, [(0, [(0, 1), (1, 1)])])
        try assertFinds(h, "duplicate")
        XCTAssertEqual(try h.check().anomalies(ofType: "duplicate")[0].detail("offsets"), .vector([.int(0), .int(1)]))
    }

    func testLostWrite() throws {
        var h = threeSends()
        let reader = h.poll(1, [(0, [(0, 1), (2, 3)])])
        try assertFinds(h, "lost-write", ops: [3, reader])   // send of 2 completes at index 3
        // Reading only offset 0 proves nothing about offsets 1 and 2: unseen, not lost.
        var notLost = threeSends()
        notLost.poll(1, [(0, [(0, 1)])])
        let a = try notLost.check()
        XCTAssertFalse(a.anomalyTypes.contains("lost-write"))
        XCTAssertTrue(a.anomalyTypes.contains("unseen"))
    }

    func testUnseen() throws {
        var h = KafkaHistoryBuilder()
        let send = h.send(0, 0, 1, at: 0)
        h.poll(1, [])
        try assertFinds(h, "unseen", ops: [send])
        var seen = KafkaHistoryBuilder()
        seen.send(0, 0, 1, at: 0)
        seen.poll(1, [(0, [(0, 1)])])
        try assertClean(seen)
    }

    func testAbortedReadOfFailedSend() throws {
        var h = KafkaHistoryBuilder()
        let writer = h.send(0, 0, 1, at: nil, "fail")
        let reader = h.poll(1, [(0, [(0, 1)])])
        try assertFinds(h, "G1a", ops: [writer, reader])
        // An indeterminate send may have happened: reading it is fine, and proves it committed.
        var info = KafkaHistoryBuilder()
        info.send(0, 0, 1, at: nil, "info")
        info.poll(1, [(0, [(0, 1)])])
        try assertClean(info)
    }

    func testIndeterminateSendNeverReadIsNotLost() throws {
        var h = KafkaHistoryBuilder()
        h.send(0, 0, 1, at: 0)
        h.send(1, 0, 2, at: nil, "info")      // may never have happened
        h.send(0, 0, 3, at: 2)
        h.poll(2, [(0, [(0, 1), (2, 3)])])
        try assertClean(h)
    }

    func testIndeterminateTxnProvenByOneReadCountsForItsOtherSends() throws {
        var h = KafkaHistoryBuilder()
        // An info txn sent 1 and 2; an ok poll read 2, so the txn happened; 1 sits at offset 0 (an info
        // poll saw it) yet no committed read returned it, though offset 1 was read: lost.
        h.txn(0, [KafkaHistoryBuilder.sendMop(0, 1, at: nil), KafkaHistoryBuilder.sendMop(0, 2, at: nil)], "info")
        h.poll(1, [(0, [(0, 1)])], "info")
        h.poll(2, [(0, [(1, 2)])])
        try assertFinds(h, "lost-write")
    }

    func testPrecommittedRead() throws {
        var h = KafkaHistoryBuilder()
        let txn = h.txn(0, [KafkaHistoryBuilder.sendMop(0, 1, at: 0), KafkaHistoryBuilder.pollMop([(0, [(0, 1)])])])
        try assertFinds(h, "precommitted-read", ops: [txn])
        var ok = KafkaHistoryBuilder()
        ok.send(1, 0, 1, at: 0)
        ok.txn(0, [KafkaHistoryBuilder.pollMop([(0, [(0, 1)])]), KafkaHistoryBuilder.sendMop(0, 2, at: 1)])
        ok.poll(2, [(0, [(0, 1), (1, 2)])])
        try assertClean(ok)
    }

    func testPollSkip() throws {
        var h = threeSends()
        let first = h.poll(1, [(0, [(0, 1)])])
        let second = h.poll(1, [(0, [(2, 3)])])
        h.poll(2, [(0, [(0, 1), (1, 2), (2, 3)])])
        try assertFinds(h, "poll-skip", ops: [first, second])
        XCTAssertEqual(try h.check().anomalies(ofType: "poll-skip")[0].detail("skipped"), .vector([.int(2)]))
    }

    func testTransactionMarkerGapIsNotAPollSkip() throws {
        var h = KafkaHistoryBuilder()
        // A committed txn wrote offsets 0 and 1; its commit marker took offset 2; the next message is 3.
        h.txn(0, [KafkaHistoryBuilder.sendMop(0, 1, at: 0), KafkaHistoryBuilder.sendMop(0, 2, at: 1)])
        h.send(0, 0, 3, at: 3)
        h.poll(1, [(0, [(0, 1), (1, 2)])])
        h.poll(1, [(0, [(3, 3)])])
        h.poll(2, [(0, [(0, 1), (1, 2), (3, 3)])])
        try assertClean(h)
    }

    func testReassignmentForgetsPositions() throws {
        var h = threeSends()
        h.assign(1, [0])
        h.poll(1, [(0, [(0, 1)])])
        h.assign(1, [1])                       // key 0 dropped...
        h.assign(1, [0, 1])                    // ...and assigned again: starting anywhere is fine
        h.poll(1, [(0, [(2, 3)])])
        h.poll(1, [(0, [])])
        h.poll(2, [(0, [(0, 1), (1, 2), (2, 3)])])
        try assertClean(h)
        // Keeping the key across an assign keeps the obligation.
        var kept = threeSends()
        kept.assign(1, [0])
        kept.poll(1, [(0, [(0, 1)])])
        kept.assign(1, [0, 1])
        kept.poll(1, [(0, [(2, 3)])])
        kept.poll(2, [(0, [(0, 1), (1, 2), (2, 3)])])
        try assertFinds(kept, "poll-skip")
    }

    func testNonmonotonicPoll() throws {
        var h = threeSends()
        let first = h.poll(1, [(0, [(0, 1), (1, 2)])])
        let second = h.poll(1, [(0, [(1, 2), (2, 3)])])
        try assertFinds(h, "nonmonotonic-poll", ops: [first, second])
        // Seeking to the beginning, or a crashed client, starts over legitimately.
        var seek = threeSends()
        seek.poll(1, [(0, [(0, 1), (1, 2)])])
        seek.assign(1, [0], seekToBeginning: true)
        seek.poll(1, [(0, [(0, 1), (1, 2), (2, 3)])])
        try assertClean(seek)
        var crash = threeSends()
        crash.poll(1, [(0, [(0, 1), (1, 2)])])
        crash.poll(1, [], "info")
        crash.poll(1, [(0, [(0, 1), (1, 2), (2, 3)])])
        try assertClean(crash)
        // Jepsen's own :crash operation does the same.
        var jepsenCrash = threeSends()
        jepsenCrash.poll(1, [(0, [(0, 1), (1, 2)])])
        jepsenCrash.op(1, "crash", invoke: "null", "info", "null")
        jepsenCrash.poll(1, [(0, [(0, 1), (1, 2), (2, 3)])])
        try assertClean(jepsenCrash)
    }

    func testSubscribeRebalancesAreAllowedAsJepsenDoes() throws {
        var h = threeSends()
        h.assign(1, [0], f: "subscribe")
        h.poll(1, [(0, [(0, 1), (1, 2)])])
        h.poll(1, [(0, [(1, 2), (2, 3)])])
        try assertFinds(h, "nonmonotonic-poll", valid: .valid)
        XCTAssertEqual(try h.check(KafkaCheckOptions(allowRebalanceAnomalies: false)).validity, .invalid)
    }

    func testInternalPollSkipAndNonmonotonic() throws {
        var skip = threeSends()
        let op = skip.op(1, "poll", invoke: "[[\"poll\"],[\"poll\"]]", "ok",
                         "[" + KafkaHistoryBuilder.pollMop([(0, [(0, 1)])]) + "," + KafkaHistoryBuilder.pollMop([(0, [(2, 3)])]) + "]")
        skip.poll(2, [(0, [(0, 1), (1, 2), (2, 3)])])
        try assertFinds(skip, "int-poll-skip", ops: [op])
        var back = threeSends()
        back.poll(1, [(0, [(1, 2), (0, 1), (2, 3)])])
        try assertFinds(back, "int-nonmonotonic-poll")
        // A key rebalanced during the poll is exempt.
        var rebalanced = threeSends()
        rebalanced.poll(1, [(0, [(1, 2), (0, 1), (2, 3)])], extra: ",\"rebalance-log\":[{\"keys\":[0]}]")
        try assertClean(rebalanced)
    }

    func testNonmonotonicSend() throws {
        var h = KafkaHistoryBuilder()
        let first = h.send(0, 0, 1, at: 1)
        let second = h.send(0, 0, 2, at: 0)
        h.poll(1, [(0, [(0, 2), (1, 1)])])
        try assertFinds(h, "nonmonotonic-send", ops: [first, second])
        // After a crash the producer is new; its sends need not follow the old one's.
        var crash = KafkaHistoryBuilder()
        crash.send(0, 0, 1, at: 1)
        crash.send(0, 0, 3, at: nil, "info")
        crash.send(0, 0, 2, at: 0)
        crash.poll(1, [(0, [(0, 2), (1, 1)])])
        try assertClean(crash)
    }

    func testInternalSendSkipIsAllowedAndInternalNonmonotonicSendIsNot() throws {
        var skip = KafkaHistoryBuilder()
        skip.txn(0, [KafkaHistoryBuilder.sendMop(0, 1, at: 0), KafkaHistoryBuilder.sendMop(0, 2, at: 2)])
        skip.send(1, 0, 3, at: 1)
        skip.poll(2, [(0, [(0, 1), (1, 3), (2, 2)])])
        try assertFinds(skip, "int-send-skip", valid: .valid)
        var back = KafkaHistoryBuilder()
        back.txn(0, [KafkaHistoryBuilder.sendMop(0, 1, at: 1), KafkaHistoryBuilder.sendMop(0, 2, at: 0)])
        back.poll(2, [(0, [(0, 2), (1, 1)])])
        try assertFinds(back, "int-nonmonotonic-send")
    }

    func testAWriteCycleIsG0AndAllowed() throws {
        // T1 is first on key 0 and second on key 1, T2 the other way round: ww edges both ways.
        var h = KafkaHistoryBuilder()
        let t1 = h.txn(0, [KafkaHistoryBuilder.sendMop(0, 1, at: 0), KafkaHistoryBuilder.sendMop(1, 2, at: 1)])
        let t2 = h.txn(1, [KafkaHistoryBuilder.sendMop(0, 3, at: 1), KafkaHistoryBuilder.sendMop(1, 4, at: 0)])
        h.poll(2, [(0, [(0, 1), (1, 3)]), (1, [(0, 4), (1, 2)])])
        try assertFinds(h, "G0", ops: [t1, t2], valid: .valid)
        XCTAssertFalse(try h.check().anomalyTypes.contains("G1c"))
    }

    func testAWriteReadCycleIsG1cAndAllowed() throws {
        // Each transaction read what the other wrote: wr edges both ways, no ww cycle.
        var h = KafkaHistoryBuilder()
        let t1 = h.txn(0, [KafkaHistoryBuilder.sendMop(0, 1, at: 0), KafkaHistoryBuilder.pollMop([(1, [(0, 2)])])])
        let t2 = h.txn(1, [KafkaHistoryBuilder.pollMop([(0, [(0, 1)])]), KafkaHistoryBuilder.sendMop(1, 2, at: 0)])
        try assertFinds(h, "G1c", ops: [t1, t2], valid: .valid)
        XCTAssertFalse(try h.check().anomalyTypes.contains("G0"))
        // Without the second read there is no cycle at all.
        var acyclic = KafkaHistoryBuilder()
        acyclic.txn(0, [KafkaHistoryBuilder.sendMop(0, 1, at: 0)])
        acyclic.txn(1, [KafkaHistoryBuilder.pollMop([(0, [(0, 1)])]), KafkaHistoryBuilder.sendMop(1, 2, at: 0)])
        acyclic.poll(2, [(1, [(0, 2)])])
        try assertClean(acyclic)
    }

    func testAbortedTransactionsRecordsAreNotPollSkips() throws {
        var h = KafkaHistoryBuilder()
        h.send(0, 0, 1, at: 0)
        h.txn(1, [KafkaHistoryBuilder.sendMop(0, 2, at: nil)], "fail")   // took offsets 1 and 2 invisibly
        h.send(0, 0, 3, at: 3)
        h.poll(2, [(0, [(0, 1)])])
        h.poll(2, [(0, [(3, 3)])])
        try assertClean(h)
    }
}
