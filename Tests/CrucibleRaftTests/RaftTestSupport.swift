@testable import CrucibleRaft

// Small builders for the unit tests of the core.

/// Entries with the given epochs at consecutive offsets from `start`; each payload names its offset.
func makeEntries(epochs: [Int32], from start: Int64 = 0) -> [RaftEntry] {
    epochs.enumerated().map { index, epoch in
        let offset = start + Int64(index)
        return RaftEntry(offset: offset, epoch: epoch, payload: .records([UInt8(truncatingIfNeeded: offset)]))
    }
}

func makeNode(_ id: RaftNodeID, voters: [RaftNodeID] = [1, 2, 3], election: ElectionState = .initial,
              entries: [RaftEntry] = [], snapshot: RaftSnapshot? = nil, seed: UInt64 = 7,
              configure: (inout RaftConfig) -> Void = { _ in }) -> RaftNode {
    makeStartedNode(id, voters: voters, election: election, entries: entries, snapshot: snapshot, seed: seed,
                    configure: configure).node
}

/// A node and the actions of its first step (a recovered follower's first Fetch, for instance).
func makeStartedNode(_ id: RaftNodeID, voters: [RaftNodeID] = [1, 2, 3], election: ElectionState = .initial,
                     entries: [RaftEntry] = [], snapshot: RaftSnapshot? = nil, seed: UInt64 = 7,
                     nowMs: Int64 = 0, configure: (inout RaftConfig) -> Void = { _ in })
    -> (node: RaftNode, actions: [RaftAction]) {
    var config = RaftConfig(nodeID: id, voters: voters)
    configure(&config)
    let node = RaftNode(config: config, durable: RaftDurableState(election: election, snapshot: snapshot, entries: entries),
                        random: SplitMix64(seed: seed), nowMs: nowMs)
    return (node, node.start(nowMs: nowMs))
}

extension Array where Element == RaftAction {
    var sent: [RaftMessage] {
        compactMap { if case .send(let message) = $0 { return message } else { return nil } }
    }

    var persisted: [ElectionState] {
        compactMap { if case .persistElectionState(let state) = $0 { return state } else { return nil } }
    }

    var commits: [(highWatermark: Int64, entries: [RaftEntry])] {
        compactMap { if case let .commit(hw, entries) = $0 { return (hw, entries) } else { return nil } }
    }

    func index(where predicate: (RaftAction) -> Bool) -> Int? { firstIndex(where: predicate) }
}

extension RaftMessage {
    var fetchRequest: FetchRequest? { if case .fetchRequest(let r) = body { return r } else { return nil } }
    var fetchResponse: FetchResponse? { if case .fetchResponse(let r) = body { return r } else { return nil } }
    var voteRequest: VoteRequest? { if case .voteRequest(let r) = body { return r } else { return nil } }
    var voteResponse: VoteResponse? { if case .voteResponse(let r) = body { return r } else { return nil } }
}

/// Delivers messages among a few nodes without faults until nothing is left to deliver (or a bound).
final class TinyNetwork {
    var nodes: [RaftNodeID: RaftNode]
    var inFlight: [RaftMessage] = []
    var nowMs: Int64 = 0
    /// Every action performed, per node, for assertions.
    var performed: [RaftNodeID: [RaftAction]] = [:]
    /// Nodes whose messages are dropped, both ways.
    var isolated: Set<RaftNodeID> = []

    init(_ nodes: [RaftNode]) {
        self.nodes = Dictionary(uniqueKeysWithValues: nodes.map { ($0.config.nodeID, $0) })
    }

    /// Performs actions like an ideal driver: flushes complete at once.
    func perform(_ actions: [RaftAction], on id: RaftNodeID) {
        performed[id, default: []] += actions
        for action in actions {
            switch action {
            case .send(let message):
                if !isolated.contains(message.source), !isolated.contains(message.destination) {
                    inFlight.append(message)
                }
            case .flushLog(let upTo):
                perform(nodes[id]!.logFlushed(upTo: upTo, nowMs: nowMs), on: id)
            default:
                break
            }
        }
    }

    func deliverAll(maxMessages: Int = 1_000) {
        var delivered = 0
        while !inFlight.isEmpty, delivered < maxMessages {
            let message = inFlight.removeFirst()
            guard let node = nodes[message.destination] else { continue }
            perform(node.receive(message, nowMs: nowMs), on: message.destination)
            delivered += 1
        }
    }

    /// Advances time in steps, ticking every node and delivering everything after each step.
    func run(forMs duration: Int64, stepMs: Int64 = 10) {
        let end = nowMs + duration
        while nowMs < end {
            nowMs += stepMs
            for (id, node) in nodes.sorted(by: { $0.key < $1.key }) { perform(node.tick(nowMs: nowMs), on: id) }
            deliverAll()
        }
    }

    var leaders: [RaftNode] { nodes.values.filter { $0.role == .leader } }
}
