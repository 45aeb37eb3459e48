// The Raft core of one node: a pure state machine. Inputs are method calls (a tick, a received message, a
// client proposal, a finished flush, a snapshot the state machine took, a request to resign); each returns
// the actions the driver must carry out, in order (see RaftAction for the contract). No I/O, no clocks, no
// global randomness: the same inputs give the same actions, which is what lets a simulator replay a cluster.
//
// A driver (the broker's controller, or the test simulator) does, on one thread or event loop:
//   1. read its disk into a RaftDurableState, construct the node, perform `start(nowMs:)`;
//   2. on every message, flush completion, proposal, snapshot or shutdown, call the matching method and
//      perform the returned actions in order;
//   3. call `tick(nowMs:)` no later than `nextDeadlineMs` (ticking more often is harmless);
//   4. apply `commit` entries to its state machine; answer clients once their offsets are below the high
//      watermark.
// Requests are never answered by the driver itself: every response comes out of the core as a `send`.

public enum ProposeResult: Sendable {
    /// Appended at `offsets` in `epoch`; committed once the high watermark passes them.
    case accepted(offsets: Range<Int64>, epoch: Int32, actions: [RaftAction])
    /// Only the leader appends; this is the node's best guess of who leads.
    case notLeader(LeaderAndEpoch)
}

public final class RaftNode {
    public let config: RaftConfig
    public internal(set) var log: RaftLog
    /// Entries below this offset are committed. It starts at the snapshot after a restart (it is not
    /// persisted) and only grows while the node runs.
    public internal(set) var highWatermark: Int64
    var quorum: QuorumState
    var nowMs: Int64
    private var nextCorrelationID: Int32
    /// Actions of the step in progress.
    var pending: [RaftAction] = []

    public init(config: RaftConfig, durable: RaftDurableState, random: any RaftRandomSource, nowMs: Int64) {
        var random = random
        self.config = config
        log = RaftLog(snapshot: durable.snapshot, entries: durable.entries)
        highWatermark = log.startOffset
        self.nowMs = nowMs
        // Correlation ids start at a random point so that answers meant for an earlier run of this node are
        // unlikely to match a request of this one.
        nextCorrelationID = Int32(truncatingIfNeeded: random.next() & 0x3fff_ffff)
        quorum = QuorumState(config: config, election: durable.election, nowMs: nowMs, random: random)
    }

    // MARK: State the driver may read

    public var role: RaftRole { quorum.current.role }
    public var epoch: Int32 { quorum.epoch }
    public var leaderID: RaftNodeID? { quorum.leaderID }
    public var electionState: ElectionState { quorum.current.election }
    /// When `tick` next has work to do; the driver may tick earlier or more often.
    public var nextDeadlineMs: Int64 { quorum.current.nextDeadlineMs }

    // MARK: Inputs

    /// The first step after construction: announces the recovered role and sends what it needs.
    public func start(nowMs: Int64) -> [RaftAction] {
        step(nowMs) {
            let state = quorum.current
            pending.append(.roleChanged(role: state.role, epoch: state.epoch, leaderID: state.leaderID))
        }
    }

    /// Time passed: fire the timers that are due.
    public func tick(nowMs: Int64) -> [RaftAction] {
        step(nowMs) {}
    }

    public func receive(_ message: RaftMessage, nowMs: Int64) -> [RaftAction] {
        step(nowMs) {
            precondition(message.destination == config.nodeID, "message for \(message.destination)")
            dispatch(message)
        }
    }

    /// The driver finished the flush asked for by `flushLog(upTo:)`.
    public func logFlushed(upTo offset: Int64, nowMs: Int64) -> [RaftAction] {
        step(nowMs) {
            guard log.flushCompleted(upTo: offset) else { return }
            if let leader = quorum.current as? LeaderState { maybeAdvanceHighWatermark(leader) }
        }
    }

    /// A client proposal: on the leader, append the records in the current epoch.
    public func propose(_ records: [[UInt8]], nowMs: Int64) -> ProposeResult {
        guard let leader = quorum.current as? LeaderState else { return .notLeader(quorum.leaderAndEpoch) }
        let start = log.endOffset
        let actions = step(nowMs) {
            appendAsLeader(records.map(RaftPayload.records), leader: leader)
        }
        return .accepted(offsets: start..<(start + Int64(records.count)), epoch: leader.epoch, actions: actions)
    }

    /// The state machine wrote a snapshot of everything below `endOffset` (which must be committed); the log
    /// prefix it covers is dropped.
    public func snapshotTaken(endOffset: Int64, data: [UInt8], nowMs: Int64) -> [RaftAction] {
        step(nowMs) {
            precondition(endOffset <= highWatermark, "a snapshot may only cover committed entries")
            guard endOffset > log.startOffset, let epoch = log.epoch(before: endOffset) else { return }
            let snapshot = RaftSnapshot(id: SnapshotID(offset: endOffset, epoch: epoch), data: data)
            log.trimPrefix(to: snapshot)
            pending.append(.writeSnapshot(snapshot))
            pending.append(.trimLogPrefix(toOffset: endOffset))
        }
    }

    /// Graceful shutdown: a leader hands over with EndQuorumEpoch instead of leaving the voters to time out.
    public func resign(nowMs: Int64) -> [RaftAction] {
        step(nowMs) {
            guard let leader = quorum.current as? LeaderState else { return }
            pending += quorum.toResigned(preferredSuccessors: leader.successorsByProgress, nowMs: nowMs)
        }
    }

    // MARK: Step machinery

    /// Runs one input, then the role's due work, and hands back the actions.
    private func step(_ now: Int64, _ body: () -> Void) -> [RaftAction] {
        precondition(pending.isEmpty, "steps do not nest")
        nowMs = max(nowMs, now)
        body()
        poll()
        defer { pending = [] }
        return pending
    }

    func send(_ body: RaftMessageBody, to destination: RaftNodeID) -> Int32 {
        nextCorrelationID = nextCorrelationID == .max ? 0 : nextCorrelationID + 1
        pending.append(.send(RaftMessage(source: config.nodeID, destination: destination,
                                         correlationID: nextCorrelationID, body: body)))
        return nextCorrelationID
    }

    func respond(to request: RaftMessage, with body: RaftMessageBody) {
        pending.append(.send(RaftMessage(source: config.nodeID, destination: request.source,
                                         correlationID: request.correlationID, body: body)))
    }

    private func dispatch(_ message: RaftMessage) {
        switch message.body {
        case .voteRequest(let request): handleVoteRequest(request, message: message)
        case .voteResponse(let response): handleVoteResponse(response, from: message.source)
        case .beginQuorumEpochRequest(let request): handleBeginQuorumEpoch(request, message: message)
        case .beginQuorumEpochResponse(let response): handleBeginQuorumEpochResponse(response, from: message.source)
        case .endQuorumEpochRequest(let request): handleEndQuorumEpoch(request, message: message)
        case .endQuorumEpochResponse(let response): handleEndQuorumEpochResponse(response, from: message.source)
        case .fetchRequest(let request): handleFetchRequest(request, message: message, mayPark: true)
        case .fetchResponse(let response): handleFetchResponse(response, message: message)
        case .fetchSnapshotRequest(let request): handleFetchSnapshotRequest(request, message: message)
        case .fetchSnapshotResponse(let response): handleFetchSnapshotResponse(response, message: message)
        }
    }

    /// Every response says what its sender believes the epoch and leader are. A newer epoch moves this node
    /// on (the response itself is then stale); a leader learnt for the current epoch is followed. Returns
    /// whether the response is still worth handling.
    func acceptResponse(from current: LeaderAndEpoch) -> Bool {
        if current.epoch > epoch {
            if let leader = current.leaderID, leader != config.nodeID {
                pending += quorum.toFollower(epoch: current.epoch, leader: leader, nowMs: nowMs)
            } else {
                pending += quorum.toUnattached(epoch: current.epoch, nowMs: nowMs)
            }
            return false
        }
        if current.epoch < epoch { return false }
        if let leader = current.leaderID, leader != config.nodeID, leaderID == nil {
            pending += quorum.toFollower(epoch: epoch, leader: leader, nowMs: nowMs)
            return false
        }
        return true
    }

    /// Moves the high watermark and hands the newly committed entries to the state machine.
    func advanceHighWatermark(to newHighWatermark: Int64) {
        guard newHighWatermark > highWatermark else { return }
        precondition(newHighWatermark <= log.endOffset, "cannot commit entries this node does not have")
        let committed = log.entries(from: highWatermark, upTo: newHighWatermark)
        highWatermark = newHighWatermark
        pending.append(.commit(highWatermark: newHighWatermark, entries: committed))
    }
}
