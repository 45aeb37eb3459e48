// What a step of the core asks its driver to do.
//
// Contract: the driver performs the actions of one step in order. `persistElectionState`, `truncateLog`,
// `writeSnapshot`, `trimLogPrefix` and `installSnapshot` must be durable before the next action starts (a vote
// is never sent before the vote is on disk). `appendToLog` may stay in memory until a later `flushLog`; the
// driver reports each finished flush with `RaftNode.logFlushed(upTo:nowMs:)`, in the order they were asked for.

public enum RaftRole: String, Hashable, Sendable {
    case unattached, voted, candidate, leader, follower, resigned
}

public enum RaftAction: Hashable, Sendable {
    /// Write the quorum-state file.
    case persistElectionState(ElectionState)
    /// Send a message (fire and forget; a lost message is retried by the core's timers).
    case send(RaftMessage)
    /// Append entries at the end of the log; they start at the current log end offset.
    case appendToLog([RaftEntry])
    /// Remove every entry at or after `offset`.
    case truncateLog(toOffset: Int64)
    /// Make every appended entry below `upTo` durable, then report it through `logFlushed(upTo:nowMs:)`.
    case flushLog(upTo: Int64)
    /// Make the snapshot the state machine took durable as the latest one (`<offset>-<epoch>.checkpoint`): a
    /// restart recovers from it, and the leader serves it with FetchSnapshot.
    case writeSnapshot(RaftSnapshot)
    /// Drop log entries below `offset` (covered by the latest snapshot).
    case trimLogPrefix(toOffset: Int64)
    /// A snapshot fetched from the leader: replace the whole log with it and reload the state machine from it.
    case installSnapshot(RaftSnapshot)
    /// The high watermark moved up: `entries` are newly committed, in order, ending just below `highWatermark`
    /// (entries covered by an installed snapshot are not repeated).
    case commit(highWatermark: Int64, entries: [RaftEntry])
    /// The node's role or epoch changed.
    case roleChanged(role: RaftRole, epoch: Int32, leaderID: RaftNodeID?)
}
