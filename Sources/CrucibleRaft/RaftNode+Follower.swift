// The follower's side of replication: pull with Fetch, truncate on divergence, download snapshots.

extension RaftNode {
    /// Sends the next Fetch (or FetchSnapshot chunk request) when none is in flight, no backoff is running,
    /// and the log is flushed: the fetch offset tells the leader what this node holds *durably*, which is
    /// what the leader may count toward a majority.
    func sendFetchIfReady(_ follower: FollowerState) {
        guard follower.inflight == nil, nowMs >= follower.nextRequestAtMs, log.isFullyFlushed else { return }
        let correlationID: Int32
        if let download = follower.snapshotDownload {
            correlationID = send(.fetchSnapshotRequest(FetchSnapshotRequest(
                replicaID: config.nodeID, currentLeaderEpoch: follower.epoch, snapshotID: download.id,
                position: Int64(download.bytes.count))), to: follower.leader)
        } else {
            correlationID = send(.fetchRequest(FetchRequest(
                replicaID: config.nodeID, currentLeaderEpoch: follower.epoch, fetchOffset: log.endOffset,
                lastFetchedEpoch: log.lastEpoch, maxWaitMs: config.fetchMaxWaitMs)), to: follower.leader)
        }
        follower.inflight = InflightRequest(correlationID: correlationID,
                                            timeoutMs: nowMs + config.fetchMaxWaitMs + config.requestTimeoutMs)
        follower.nextRequestAtMs = .min
    }

    func handleFetchResponse(_ response: FetchResponse, message: RaftMessage) {
        guard acceptResponse(from: response.current), let follower = quorum.current as? FollowerState,
              message.source == follower.leader, follower.takeResponse(correlationID: message.correlationID)
        else { return }
        guard response.errorCode == .none else {
            follower.nextRequestAtMs = nowMs + config.retryBackoffMs
            return
        }
        follower.fetchDeadlineMs = nowMs + config.fetchTimeoutMs
        if let divergence = response.divergingEpoch {
            truncateToDivergence(divergence)
        } else if let snapshotID = response.snapshotID {
            follower.snapshotDownload = SnapshotDownload(id: snapshotID)
        } else {
            appendAsFollower(response.entries)
            // Commit only what this node holds and knows to match the leader's log.
            advanceHighWatermark(to: min(response.highWatermark, log.endOffset))
        }
    }

    /// Truncate to the end of the common prefix with the leader: the smaller of the leader's and this
    /// node's end for the diverging epoch (KIP-101/595). Never below the snapshot, which is committed.
    private func truncateToDivergence(_ divergence: OffsetAndEpoch) {
        let localEnd = log.endOffset(forEpoch: divergence.epoch)?.offset ?? log.startOffset
        let truncation = max(log.startOffset, min(divergence.offset, localEnd))
        guard truncation < log.endOffset else { return }
        log.truncate(toOffset: truncation)
        pending.append(.truncateLog(toOffset: truncation))
    }

    private func appendAsFollower(_ entries: [RaftEntry]) {
        // With one fetch in flight the entries start at our end; anything else is ignored rather than trusted.
        guard let first = entries.first, first.offset == log.endOffset, first.epoch >= log.lastEpoch,
              first.epoch <= epoch else { return }
        log.append(entries)
        pending.append(.appendToLog(entries))
        pending.append(.flushLog(upTo: log.requestFlush()))
    }

    func handleFetchSnapshotResponse(_ response: FetchSnapshotResponse, message: RaftMessage) {
        guard acceptResponse(from: response.current), let follower = quorum.current as? FollowerState,
              message.source == follower.leader, follower.takeResponse(correlationID: message.correlationID),
              var download = follower.snapshotDownload
        else { return }
        switch response.errorCode {
        case .none:
            break
        case .snapshotNotFound, .positionOutOfRange:
            // Start over from a Fetch, which names the leader's current snapshot.
            follower.snapshotDownload = nil
            return
        default:
            follower.nextRequestAtMs = nowMs + config.retryBackoffMs
            return
        }
        follower.fetchDeadlineMs = nowMs + config.fetchTimeoutMs
        guard response.snapshotID == download.id, response.position == Int64(download.bytes.count) else { return }
        download.bytes += response.bytes
        follower.snapshotDownload = download
        if Int64(download.bytes.count) >= response.size {
            follower.snapshotDownload = nil
            installSnapshot(RaftSnapshot(id: download.id, data: download.bytes))
        }
    }

    /// Replace the whole log with a snapshot from the leader; everything it covers is committed. The log may
    /// be longer than the snapshot: it was sent because this log diverges somewhere inside it.
    private func installSnapshot(_ snapshot: RaftSnapshot) {
        // Our committed prefix already matches the leader's, so a snapshot inside it brings nothing new.
        guard snapshot.id.offset >= highWatermark else { return }
        log.replace(with: snapshot)
        pending.append(.installSnapshot(snapshot))
        if snapshot.id.offset > highWatermark {
            highWatermark = snapshot.id.offset
            pending.append(.commit(highWatermark: highWatermark, entries: []))
        }
    }
}
