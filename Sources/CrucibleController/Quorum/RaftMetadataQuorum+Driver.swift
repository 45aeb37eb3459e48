import CrucibleProtocol
import CrucibleRaft
import NIOCore

/// Carrying out the core's actions (see `RaftAction` for the contract), its timer and its snapshots.
extension RaftMetadataQuorum {
    /// Performs one step's actions in order. Finished flushes are reported to the core after the whole list,
    /// so the report's own actions never interleave with the step that asked for the flush.
    func run(_ actions: [RaftAction]) {
        eventLoop.preconditionInEventLoop()
        var flushed: [Int64] = []
        for action in actions {
            do {
                try perform(action, flushed: &flushed)
            } catch {
                // The quorum promised durability it can no longer give: stopping is the only safe answer.
                logger.critical("metadata quorum: cannot carry out \(action.kind): \(error)")
                fatalError("metadata quorum storage failed: \(error)")
            }
        }
        for offset in flushed where !stopped { run(node.logFlushed(upTo: offset, nowMs: Self.nowMs())) }
        if let node { noteProgress(node) }
        snapshotIfDue()
        rearmTimer()
    }

    private func perform(_ action: RaftAction, flushed: inout [Int64]) throws {
        switch action {
        case .persistElectionState(let election):
            try store.persist(election, voters: config.voters)
        case .send(let message):
            dispatch(message)
        case .appendToLog(let entries):
            try store.append(entries, nowMs: Self.wallClockMs())
        case .truncateLog(let offset):
            try store.truncate(toOffset: offset)
        case .flushLog(let offset):
            try store.flush(nowMs: Self.wallClockMs())
            flushed.append(offset)
        case .writeSnapshot(let snapshot):
            try store.write(snapshot)
        case .trimLogPrefix(let offset):
            try store.trimPrefix(toOffset: offset, nowMs: Self.wallClockMs())
        case .installSnapshot(let snapshot):
            try store.install(snapshot, nowMs: Self.wallClockMs())
            try deliverSnapshot(snapshot)
        case .commit(_, let entries):
            try deliverCommitted(entries)
        case .roleChanged(let role, let epoch, let leader):
            noteView(LeaderAndEpoch(leaderID: leader, epoch: epoch))
            logger.info("metadata quorum: node \(nodeId) is \(role) in epoch \(epoch), leader \(leader.map(String.init) ?? "unknown")")
            if role != .leader { failProposals(leaderId: leader) }
        }
    }

    /// Hands each committed entry's records to the listener, then answers the proposal it came from.
    private func deliverCommitted(_ entries: [RaftEntry]) throws {
        for entry in entries {
            let records = try MetadataEntryCodec.metadataRecords(of: entry)
            let recordBase = store.recordOffset(ofEntry: entry.offset)
            if !records.isEmpty {
                for (index, record) in records.enumerated() {
                    committedImage.apply(record, offset: recordBase + Int64(index))
                }
                recordsSinceSnapshot += records.count
                onCommit?(.records(baseOffset: recordBase, records))
            }
            proposals.removeValue(forKey: entry.offset)?.succeed(recordBase)
        }
    }

    /// A snapshot loaded at start or installed from the leader replaces the image.
    func deliverSnapshot(_ snapshot: RaftSnapshot) throws {
        let (recordEnd, records) = try MetadataSnapshotCodec.decode(snapshot.data)
        committedImage = MetadataImage()
        for (index, record) in records.enumerated() {
            committedImage.apply(record, offset: recordEnd - Int64(records.count) + Int64(index))
        }
        recordsSinceSnapshot = 0
        onCommit?(.snapshot(endOffset: recordEnd, records))
    }

    /// Every `snapshotEveryRecords` committed records, the committed image becomes the new snapshot and the log
    /// prefix it covers goes.
    private func snapshotIfDue() {
        guard !stopped, recordsSinceSnapshot >= settings.snapshotEveryRecords,
              node.highWatermark > node.log.startOffset else { return }
        let endOffset = node.highWatermark
        do {
            let data = try MetadataSnapshotCodec.encode(committedImage.snapshotRecords(),
                                                        recordEnd: store.recordOffset(ofEntry: endOffset),
                                                        nowMs: Self.wallClockMs())
            recordsSinceSnapshot = 0
            logger.info("metadata quorum: snapshot at \(endOffset)")
            run(node.snapshotTaken(endOffset: endOffset, data: data, nowMs: Self.nowMs()))
        } catch {
            logger.error("metadata quorum: cannot encode a snapshot: \(error)")
        }
    }

    func failProposals(leaderId: Int32?) {
        let waiting = proposals
        proposals = [:]
        for promise in waiting.values { promise.fail(NotControllerError(leaderId: leaderId)) }
    }

    /// Ticks the core when its next deadline comes.
    private func rearmTimer() {
        timer?.cancel()
        guard !stopped else { return }
        let delayMs = max(0, node.nextDeadlineMs - Self.nowMs())
        timer = eventLoop.scheduleTask(in: .milliseconds(delayMs)) { [self] in
            guard !stopped else { return }
            run(node.tick(nowMs: Self.nowMs()))
        }
    }

    // MARK: Messages out

    /// A request goes to its peer and its answer comes back into the core; a response answers the
    /// incoming request it was made for.
    private func dispatch(_ message: RaftMessage) {
        if message.body.isResponse {
            answer(message)
            return
        }
        let peer = message.destination
        let timeout = TimeAmount.milliseconds(config.requestTimeoutMs + config.fetchMaxWaitMs)
        let clusterId = settings.clusterId
        let answer: EventLoopFuture<RaftMessageBody?>
        switch message.body {
        case .voteRequest(let request):
            answer = transport.send(RaftWire.request(request, to: peer, clusterId: clusterId), to: peer, timeout: timeout)
                .map { RaftWire.message($0) }
        case .beginQuorumEpochRequest(let request):
            answer = transport.send(RaftWire.request(request, to: peer, clusterId: clusterId), to: peer, timeout: timeout)
                .map { RaftWire.message($0) }
        case .endQuorumEpochRequest(let request):
            answer = transport.send(RaftWire.request(request, clusterId: clusterId), to: peer, timeout: timeout)
                .map { RaftWire.message($0) }
        case .fetchRequest(let request):
            answer = transport.send(RaftWire.request(request), to: peer, timeout: timeout)
                .flatMapThrowing { try RaftWire.message($0, fetchOffset: request.fetchOffset) }
        case .fetchSnapshotRequest(let request):
            answer = transport.send(RaftWire.request(request, clusterId: clusterId), to: peer, timeout: timeout)
                .map { RaftWire.message($0) }
        default:
            return
        }
        answer.whenComplete { [self] result in
            guard !stopped else { return }
            switch result {
            case .success(let body?):
                run(node.receive(RaftMessage(source: peer, destination: nodeId, correlationID: message.correlationID,
                                             body: body), nowMs: Self.nowMs()))
            case .success(nil):
                logger.debug("metadata quorum: malformed answer from \(peer)")
            case .failure(let error):
                // Lost: the core's timers resend.
                logger.debug("metadata quorum: request to \(peer) failed: \(error)")
            }
        }
    }
}

extension RaftMessageBody {
    var isResponse: Bool {
        switch self {
        case .voteResponse, .beginQuorumEpochResponse, .endQuorumEpochResponse, .fetchResponse, .fetchSnapshotResponse:
            return true
        case .voteRequest, .beginQuorumEpochRequest, .endQuorumEpochRequest, .fetchRequest, .fetchSnapshotRequest:
            return false
        }
    }
}

extension RaftAction {
    /// The action's name for error messages (without its possibly large payload).
    var kind: String {
        switch self {
        case .persistElectionState: return "persistElectionState"
        case .send: return "send"
        case .appendToLog: return "appendToLog"
        case .truncateLog: return "truncateLog"
        case .flushLog: return "flushLog"
        case .writeSnapshot: return "writeSnapshot"
        case .trimLogPrefix: return "trimLogPrefix"
        case .installSnapshot: return "installSnapshot"
        case .commit: return "commit"
        case .roleChanged: return "roleChanged"
        }
    }
}
