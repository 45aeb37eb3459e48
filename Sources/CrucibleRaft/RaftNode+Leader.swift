// The leader's side of replication: appending, answering Fetch and FetchSnapshot, and the high watermark.

extension RaftNode {
    func appendAsLeader(_ payloads: [RaftPayload], leader: LeaderState) {
        guard !payloads.isEmpty else { return }
        let start = log.endOffset
        let entries = payloads.enumerated().map {
            RaftEntry(offset: start + Int64($0.offset), epoch: leader.epoch, payload: $0.element)
        }
        log.append(entries)
        pending.append(.appendToLog(entries))
        pending.append(.flushLog(upTo: log.requestFlush()))
        // Parked fetches now have something to carry.
        for parked in leader.parkedFetchesInOrder { completeParkedFetch(parked, leader: leader) }
    }

    /// Recomputes the high watermark from the voters' positions; on a move, parked fetches carry the news.
    func maybeAdvanceHighWatermark(_ leader: LeaderState) {
        guard let newHighWatermark = leader.newHighWatermark(localFlushedEnd: log.flushedEndOffset,
                                                             current: highWatermark,
                                                             faults: config.testingFaults) else { return }
        advanceHighWatermark(to: newHighWatermark)
        for parked in leader.parkedFetchesInOrder { completeParkedFetch(parked, leader: leader) }
    }

    func handleFetchRequest(_ request: FetchRequest, message: RaftMessage, mayPark: Bool) {
        if let error = epochError(requestEpoch: request.currentLeaderEpoch) {
            return respondToFetch(message, error: error)
        }
        guard let leader = quorum.current as? LeaderState else {
            return respondToFetch(message, error: .notLeaderOrFollower)
        }
        let replica = request.replicaID
        switch log.validateFetch(offset: request.fetchOffset, lastFetchedEpoch: request.lastFetchedEpoch) {
        case .snapshot(let id):
            leader.recordContact(from: replica, nowMs: nowMs)
            respondToFetch(message, snapshotID: id)
        case .diverging(let divergence) where !config.testingFaults.contains(.countFollowerWithoutEpochCheck)
                                            || request.fetchOffset > log.endOffset:
            leader.recordContact(from: replica, nowMs: nowMs)
            respondToFetch(message, divergingEpoch: divergence)
        case .valid, .diverging:
            leader.recordFetch(from: replica, endOffset: request.fetchOffset, nowMs: nowMs)
            leader.parkedFetches[replica] = nil
            maybeAdvanceHighWatermark(leader)
            let entries = log.entries(from: request.fetchOffset, upTo: log.endOffset, max: config.fetchEntriesMax)
            let highWatermarkIsNews = highWatermark > leader.highWatermarkSent(to: replica)
            if entries.isEmpty, !highWatermarkIsNews, mayPark, request.maxWaitMs > 0 {
                leader.parkedFetches[replica] = ParkedFetch(
                    correlationID: message.correlationID, request: request,
                    deadlineMs: nowMs + min(request.maxWaitMs, config.fetchMaxWaitMs))
                return
            }
            leader.noteHighWatermarkSent(highWatermark, to: replica)
            respondToFetch(message, entries: entries)
        }
    }

    /// Answers a held Fetch now, validating it again: the log start may have moved since it was parked.
    func completeParkedFetch(_ parked: ParkedFetch, leader: LeaderState) {
        // Answering one fetch can move the high watermark and answer the others first; answer each once.
        guard leader.parkedFetches[parked.request.replicaID]?.correlationID == parked.correlationID else { return }
        leader.parkedFetches[parked.request.replicaID] = nil
        let message = RaftMessage(source: parked.request.replicaID, destination: config.nodeID,
                                  correlationID: parked.correlationID, body: .fetchRequest(parked.request))
        handleFetchRequest(parked.request, message: message, mayPark: false)
    }

    func handleFetchSnapshotRequest(_ request: FetchSnapshotRequest, message: RaftMessage) {
        var response = FetchSnapshotResponse(errorCode: .none, current: quorum.leaderAndEpoch,
                                             snapshotID: request.snapshotID, size: 0, position: request.position,
                                             bytes: [])
        if let error = epochError(requestEpoch: request.currentLeaderEpoch) {
            response.errorCode = error
        } else if let leader = quorum.current as? LeaderState {
            leader.recordContact(from: request.replicaID, nowMs: nowMs)
            if let snapshot = log.snapshot, snapshot.id == request.snapshotID {
                let size = Int64(snapshot.data.count)
                if request.position < 0 || request.position > size {
                    response.errorCode = .positionOutOfRange
                } else {
                    let start = Int(request.position), end = min(snapshot.data.count, start + config.snapshotChunkBytesMax)
                    response.size = size
                    response.bytes = Array(snapshot.data[start..<end])
                }
            } else {
                // The leader has moved on to a newer snapshot; the fetcher learns its id from its next Fetch.
                response.errorCode = .snapshotNotFound
            }
        } else {
            response.errorCode = .notLeaderOrFollower
        }
        respond(to: message, with: .fetchSnapshotResponse(response))
    }

    /// Kafka's fencing: an older epoch is fenced, a newer one is unknown to this node.
    private func epochError(requestEpoch: Int32) -> RaftErrorCode? {
        if requestEpoch < epoch { return .fencedLeaderEpoch }
        if requestEpoch > epoch { return .unknownLeaderEpoch }
        return nil
    }

    private func respondToFetch(_ request: RaftMessage, error: RaftErrorCode = .none,
                                divergingEpoch: OffsetAndEpoch? = nil, snapshotID: SnapshotID? = nil,
                                entries: [RaftEntry] = []) {
        respond(to: request, with: .fetchResponse(FetchResponse(
            errorCode: error, current: quorum.leaderAndEpoch, highWatermark: highWatermark,
            logStartOffset: log.startOffset, divergingEpoch: divergingEpoch, snapshotID: snapshotID,
            entries: entries)))
    }
}
