@testable import CrucibleRaft

// A whole cluster in simulated time, driven by one seed: a network that drops, delays, duplicates and
// reorders messages and partitions nodes; crashes that lose unflushed writes; clients proposing entries;
// snapshots and resignations. Invariants are checked on every action and after every event.

enum SimulationEvent {
    case deliver(RaftMessage, sourceIncarnation: Int, destinationIncarnation: Int)
    case tick(RaftNodeID)
    case flushed(RaftNodeID, incarnation: Int, upTo: Int64)
    case restart(RaftNodeID)
    case crash(RaftNodeID, incarnation: Int)
    case heal
    case nemesis
    case propose
}

struct SimulationResult {
    var violation: InvariantViolation?
    var events = 0
    var committedEntries = 0
    var crashes = 0
    var elections = 0
    var truncations = 0
    var snapshotInstalls = 0
    var snapshotsTaken = 0
    /// From healing to a proposal committed on every node (the longest, when results are added up).
    var recoveryMs: Int64 = 0

    mutating func add(_ other: SimulationResult) {
        events += other.events
        committedEntries += other.committedEntries
        crashes += other.crashes
        elections += other.elections
        truncations += other.truncations
        snapshotInstalls += other.snapshotInstalls
        snapshotsTaken += other.snapshotsTaken
        recoveryMs = max(recoveryMs, other.recoveryMs)
    }

    var summary: String {
        "\(events) events, \(committedEntries) entries committed, \(elections) elections, \(crashes) crashes, "
            + "\(truncations) truncations, \(snapshotsTaken) snapshots taken, \(snapshotInstalls) installed, "
            + "slowest recovery after healing \(recoveryMs) ms"
    }
}

/// One simulated node: its disk survives crashes; the Raft core and the state machine do not.
final class SimulatedNode {
    let id: RaftNodeID
    var disk = SimulatedDisk()
    var raft: RaftNode?
    var incarnation = 0
    /// The state machine: every committed entry from offset 0, rebuilt from the snapshot after a restart.
    var applied: [RaftEntry] = []
    var scheduledTickMs = Int64.max

    init(id: RaftNodeID) { self.id = id }
}

final class Simulation {
    let seed: UInt64
    let options: SimulationOptions
    var random: SplitMix64
    var queue = EventQueue<SimulationEvent>()
    private(set) var nowMs: Int64 = 0
    let nodes: [SimulatedNode]
    let voters: [RaftNodeID]
    let checker: InvariantChecker
    /// Nodes in different groups cannot talk.
    var partitionGroup: [RaftNodeID: Int] = [:]
    var faultsActive = true
    private var nextPayload: UInt64 = 0
    /// After healing: the proposal whose commit on every node proves liveness.
    private var livenessTarget: RaftEntry?
    var result = SimulationResult()
    private let fetchEntriesMax: Int

    init(seed: UInt64, options: SimulationOptions) {
        self.seed = seed
        self.options = options
        var random = SplitMix64(seed: seed)
        fetchEntriesMax = options.fetchEntriesMax ?? [1, 2, 4, 16][Int(random.next() % 4)]
        self.random = random
        voters = (1...Int32(options.voterCount)).map { $0 }
        nodes = (1...Int32(options.voterCount + options.observerCount)).map(SimulatedNode.init)
        checker = InvariantChecker(majority: options.voterCount / 2 + 1)
    }

    func run() -> SimulationResult {
        for node in nodes { start(node) }
        queue.schedule(.nemesis, atMs: random.next(in: options.nemesisIntervalMs))
        queue.schedule(.propose, atMs: random.next(in: options.proposalIntervalMs))
        queue.schedule(.heal, atMs: options.faultPhaseMs)
        let deadline = options.faultPhaseMs + options.livenessBoundMs
        while let (time, event) = queue.pop() {
            nowMs = time
            checker.nowMs = time
            if time > deadline {
                checker.fail("liveness: no proposal committed on every node within \(options.livenessBoundMs) ms "
                             + "of healing; nodes: \(describeNodes())", isLiveness: true)
            } else {
                handle(event)
                checkNodes()
            }
            result.events += 1
            if checker.violation != nil { break }
            if livenessReached {
                result.recoveryMs = nowMs - options.faultPhaseMs
                break
            }
        }
        result.violation = checker.violation
        result.committedEntries = checker.committed.count
        return result
    }

    // MARK: Events

    private func handle(_ event: SimulationEvent) {
        switch event {
        case let .deliver(message, sourceIncarnation, destinationIncarnation):
            let destination = node(message.destination)
            // Connections die with a process (TCP), so a message from or to an earlier run is lost.
            guard let raft = destination.raft, destination.incarnation == destinationIncarnation,
                  node(message.source).incarnation == sourceIncarnation,
                  canTalk(message.source, message.destination) else { return }
            perform(raft.receive(message, nowMs: nowMs), on: destination)
        case .tick(let id):
            let node = node(id)
            guard let raft = node.raft, node.scheduledTickMs == nowMs else { return }
            node.scheduledTickMs = .max
            perform(raft.tick(nowMs: nowMs), on: node)
        case let .flushed(id, incarnation, upTo):
            let node = node(id)
            guard let raft = node.raft, node.incarnation == incarnation else { return }
            node.disk.flush(upTo: upTo)
            perform(raft.logFlushed(upTo: upTo, nowMs: nowMs), on: node)
        case let .crash(id, incarnation):
            let node = node(id)
            guard faultsActive, node.raft != nil, node.incarnation == incarnation else { return }
            crash(node)
            queue.schedule(.restart(id), atMs: nowMs + random.next(in: 100..<3_000))
        case .restart(let id):
            let node = node(id)
            if node.raft == nil { start(node) }
        case .heal:
            if options.trace { print("\(nowMs) heal: \(describeNodes())") }
            faultsActive = false
            partitionGroup = [:]
            for node in nodes where node.raft == nil { start(node) }
        case .nemesis:
            guard faultsActive else { return }
            nemesis()
            queue.schedule(.nemesis, atMs: nowMs + random.next(in: options.nemesisIntervalMs))
        case .propose:
            propose()
            queue.schedule(.propose, atMs: nowMs + random.next(in: options.proposalIntervalMs))
        }
    }

    private func nemesis() {
        // Half the time the nemesis aims at a leader: losing one mid-replication is where Raft is subtle.
        let leaders = nodes.filter { $0.raft?.role == .leader }
        let victim = !leaders.isEmpty && random.chance(0.5)
            ? leaders[Int(random.next() % UInt64(leaders.count))]
            : nodes[Int(random.next() % UInt64(nodes.count))]
        switch random.next() % 10 {
        case 0...2 where options.crashes:
            queue.schedule(.crash(victim.id, incarnation: victim.incarnation), atMs: nowMs)
        case 3...5 where options.partitions:
            if partitionGroup.isEmpty {
                for node in nodes { partitionGroup[node.id] = Int(random.next() % 2) }
            } else {
                partitionGroup = [:]
            }
        case 6 where options.resignations:
            if let leader = nodes.first(where: { $0.raft?.role == .leader }), let raft = leader.raft {
                perform(raft.resign(nowMs: nowMs), on: leader)
            }
        case 7...8 where options.snapshots:
            takeSnapshot(on: victim)
        default:
            break
        }
    }

    private func propose() {
        let leaders = nodes.filter { $0.raft?.role == .leader }
        guard !leaders.isEmpty, let raft = leaders[Int(random.next() % UInt64(leaders.count))].raft else { return }
        nextPayload += 1
        let count = Int(random.next() % 3) + 1
        let records = (0..<count).map { index in
            withUnsafeBytes(of: (nextPayload &* 4 + UInt64(index)).bigEndian) { Array($0) }
        }
        guard case let .accepted(offsets, epoch, actions) = raft.propose(records, nowMs: nowMs) else { return }
        if !faultsActive, livenessTarget == nil {
            livenessTarget = RaftEntry(offset: offsets.lowerBound, epoch: epoch, payload: .records(records[0]))
        }
        perform(actions, on: node(raft.config.nodeID))
    }

    private func takeSnapshot(on node: SimulatedNode) {
        guard let raft = node.raft, raft.highWatermark > raft.log.startOffset else { return }
        let end = raft.highWatermark
        let data = SnapshotCodec.encode(node.applied[0..<Int(end)])
        perform(raft.snapshotTaken(endOffset: end, data: data, nowMs: nowMs), on: node)
    }

    // MARK: Node lifecycle

    private func start(_ node: SimulatedNode) {
        node.incarnation += 1
        node.applied = node.disk.snapshot.map { SnapshotCodec.decode($0.data, voters: voters) } ?? []
        let raft = RaftNode(config: options.raftConfig(nodeID: node.id, voters: voters, fetchEntriesMax: fetchEntriesMax),
                            durable: node.disk.recovered, random: SplitMix64(seed: random.next()), nowMs: nowMs)
        node.raft = raft
        node.scheduledTickMs = .max
        perform(raft.start(nowMs: nowMs), on: node)
    }

    private func crash(_ node: SimulatedNode) {
        node.raft = nil
        node.disk.crash()
        node.scheduledTickMs = .max
        result.crashes += 1
    }

    // MARK: Checks after every event

    private func checkNodes() {
        for node in nodes {
            guard let raft = node.raft else { continue }
            checker.checkEpoch(raft.epoch, of: node.id)
            if Int64(node.applied.count) != raft.highWatermark {
                checker.fail("node \(node.id) state machine at \(node.applied.count), high watermark \(raft.highWatermark)")
            }
        }
    }

    func describeNodes() -> String {
        nodes.map { node in
            guard let raft = node.raft else { return "\(node.id) down" }
            return "\(node.id) \(raft.role)@\(raft.epoch) hw \(raft.highWatermark) log \(raft.log.startOffset)..<"
                + "\(raft.log.endOffset) (flushed \(raft.log.flushedEndOffset), last epoch \(raft.log.lastEpoch))"
        }.joined(separator: "; ") + "; target \(livenessTarget.map(String.init(describing:)) ?? "none")"
    }

    private var livenessReached: Bool {
        guard let target = livenessTarget else { return false }
        guard Int(target.offset) < checker.committed.count else { return false }
        if checker.committed[Int(target.offset)] != target {
            livenessTarget = nil  // That proposal lost its leader; the next one is the target.
            return false
        }
        return nodes.allSatisfy { ($0.raft?.highWatermark ?? 0) > target.offset }
    }
}
