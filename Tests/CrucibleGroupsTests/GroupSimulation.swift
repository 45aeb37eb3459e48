import CrucibleGroups
import CrucibleProtocol
import NIOCore

/// A seeded, replayable world for one coordinator shard: consumers that join, sync, heartbeat, consume and
/// commit, leave, crash, pause past their session and come back (some static); requests and replies delayed,
/// lost or answered late; `__consumer_offsets` writes that succeed, fail, or fail while still landing in the
/// log; and coordinator failovers that rebuild the shard from the log. After every event it checks that each
/// group has one leader among its members, that no two members of a generation were handed the same
/// partition, and that committed offsets never move backwards and never lose an acknowledged commit.
struct GroupSimulation {
    struct Violation: Error, CustomStringConvertible {
        let description: String
    }

    static let groupId = "sim"
    static let topic = "t"
    static let partitions: Int32 = 6

    var random: SplitMix
    var nowMs: Int64 = 0
    var shard: GroupShard
    let settings: GroupSettings
    var clients: [SimConsumer] = []
    /// In-flight messages, delivered in time order (FIFO per client and direction, as TCP keeps them).
    var network: [(at: Int64, seq: Int, message: Message)] = []
    var seq = 0
    /// `__consumer_offsets`: records appended, in order, and the writes not yet complete.
    var log: [OffsetsTopicRecord] = []
    var inflightWrites: [(writeId: UInt64, records: [OffsetsTopicRecord], due: Int64)] = []
    /// Requests the coordinator holds: who sent them, and the offsets a commit carries.
    var waiting: [RequestToken: (client: Int, incarnation: Int, requestId: Int, commit: [Int32: Int64], at: Int64)] = [:]
    var nextToken: RequestToken = 1
    /// Invariant bookkeeping.
    var owners: [Int32: [Int32: String]] = [:]  // generation -> partition -> instance or member id
    var highestAcked: [Int32: Int64] = [:]
    var lastSeen: [Int32: Int64] = [:]
    var trace: [String] = []
    /// When the coordinator last heard from each client or answered it (what a session is measured from).
    var lastContact: [Int: Int64] = [:]

    enum Message {
        case request(client: Int, incarnation: Int, requestId: Int, Request)
        case reply(client: Int, incarnation: Int, requestId: Int, commit: [Int32: Int64], GroupReply)
    }

    enum Request {
        case join(JoinGroupRequest), sync(SyncGroupRequest), heartbeat(HeartbeatRequest)
        case commit(OffsetCommitRequest), fetch, leave(LeaveGroupRequest)

        }

    init(seed: UInt64, consumers: Int = 4, settings: GroupSettings) {
        random = SplitMix(seed: seed)
        self.settings = settings
        let counter = Counter()
        shard = GroupShard(settings: settings, makeId: { prefix in "\(prefix)-\(counter.next())" })
        for index in 0..<consumers {
            // JoinGroup versions as clients send them: v9 (librdkafka, Java), v5 (kafka-python), v3 (before KIP-394).
            clients.append(SimConsumer(index: index, instanceId: index % 2 == 0 ? "static-\(index)" : nil,
                                       joinVersion: [9, 5, 3][index % 3]))
        }
    }

    /// Faults stop: nothing lost, no write fails, nobody crashes, pauses or leaves.
    var quiet = false

    /// `steps` of faults, then a quiet minute after which the group must have settled: one stable generation
    /// holding every consumer, unchanged over the last half of the quiet time (a coordinator that drops members
    /// for no reason keeps rebalancing and fails here, though it breaks no safety rule).
    mutating func run(steps: Int, quietSteps: Int = 800) throws {
        for _ in 0..<steps {
            try step()
        }
        quiet = true
        for _ in 0..<quietSteps / 2 { try step() }
        let settled = shard.groups[Self.groupId]?.generation
        for _ in 0..<quietSteps / 2 { try step() }
        guard let group = shard.groups[Self.groupId], group.state == .stable, group.generation == settled,
              group.members.count == clients.count,
              clients.allSatisfy({ $0.phase == .stable && $0.generation == group.generation }) else {
            let state = shard.groups[Self.groupId].map { "\($0.state) generation \($0.generation) with \($0.members.count) members" }
            throw Violation(description: "not settled after a quiet minute: \(state ?? "no group"), settled at \(settled ?? -1); clients \(clients.map { "\($0.phase) gen \($0.generation)" })")
        }
    }

    mutating func step() throws {
        nowMs += Int64(random.next(upTo: 300))
        // Deliver due messages.
        network.sort { ($0.at, $0.seq) < ($1.at, $1.seq) }
        while let first = network.first, first.at <= nowMs {
            network.removeFirst()
            try deliver(first.message)
        }
        // Complete due writes, in append order (the high watermark only moves forward).
        while let write = inflightWrites.first, write.due <= nowMs {
            inflightWrites.removeFirst()
            let roll = random.next(upTo: 100)
            let error: ErrorCode = quiet || roll < 90 ? .none : roll < 95 ? .notEnoughReplicas : .requestTimedOut
            if error == .none { log += write.records }
            trace.append("\(nowMs) write \(write.writeId) \(error.name): \(write.records.map { r -> String in if case .offsetCommit(let k, let v) = r { return "\(k.partition)=\(v?.offset ?? -1)" } else { return "group" } })")
            apply(shard.writeCompleted(write.writeId, error: error, nowMs: nowMs))
            try check("write \(write.writeId) \(error.name)")
        }
        let ticked = shard.tick(nowMs: nowMs)
        try checkExpiries(ticked)
        apply(ticked)
        try check("tick")
        // Something happens.
        let roll = quiet ? 1000 : random.next(upTo: 1000)
        if roll < 8 {
            try failover()
        } else if roll < 20 {
            let c = random.next(upTo: clients.count)
            clients[c].crash(at: nowMs, random: &random)
            trace.append("\(nowMs) client \(c) crashes")
        } else if roll < 28 {
            let c = random.next(upTo: clients.count)
            clients[c].pause(until: nowMs + Int64(random.next(upTo: 20_000)))
            trace.append("\(nowMs) client \(c) pauses")
        } else {
            for c in clients.indices where clients[c].act(nowMs: nowMs, quiet: quiet, random: &random) != nil {
                send(c, clients[c].outgoing!)
            }
        }
        try check("step")
    }

    mutating func send(_ c: Int, _ request: (id: Int, request: Request)) {
        var delay = Int64(random.next(upTo: 200))
        // A leader may think long over its assignment (within its session), its followers waiting in
        // SyncGroup without heartbeats meanwhile: not a fault, so quiet times have it too.
        if case .sync(let sync) = request.request, !sync.assignments.isEmpty, random.next(upTo: 100) < 20 {
            delay += Int64(random.next(upTo: 5_000))
        }
        if !quiet && random.next(upTo: 100) < 2 {
            trace.append("\(nowMs) request from \(c) lost")
            return  // the client times the request out and goes on
        }
        seq += 1
        network.append((nowMs + delay, seq, .request(client: c, incarnation: clients[c].incarnation, requestId: request.id,
                                                     request.request)))
    }

    mutating func deliver(_ message: Message) throws {
        switch message {
        case .request(let c, let incarnation, let requestId, let request):
            let token = nextToken
            nextToken += 1
            var commit: [Int32: Int64] = [:]
            if case .commit(let r) = request {
                for p in r.topics.flatMap(\.partitions) { commit[p.partitionIndex] = p.committedOffset }
            }
            waiting[token] = (c, incarnation, requestId, commit, nowMs)
            var effects: [GroupEffect]
            switch request {
            case .join(let r): effects = shard.join(r, version: clients[c].joinVersion, clientId: "c\(c)", clientHost: "/sim", token: token, nowMs: nowMs)
            case .sync(let r): effects = shard.sync(r, token: token, nowMs: nowMs)
            case .heartbeat(let r): effects = [.reply(token, .heartbeat(shard.heartbeat(r, nowMs: nowMs)))]
            case .commit(let r): effects = shard.commitOffsets(r, version: 8, token: token, nowMs: nowMs, knownTopic: { _ in true })
            case .leave(let r): effects = shard.leave(r, version: 5, token: token, nowMs: nowMs)
            case .fetch:
                let keys = (0..<Self.partitions).map { TopicPartitionKey(Self.topic, $0) }
                let offsets = shard.committedOffsets(Self.groupId, keys)
                let byPartition = Dictionary(offsets.map { ($0.key.partition, $0.value.offset) }, uniquingKeysWith: { a, _ in a })
                clients[c].fetched(byPartition, incarnation: incarnation, requestId: requestId)
                effects = []
                waiting.removeValue(forKey: token)
            }
            apply(effects)
        case .reply(let c, let incarnation, let requestId, let commit, let reply):
            let current = clients[c].incarnation == incarnation && clients[c].inFlightId == requestId
            if case .sync(let response) = reply, response.errorCode == 0, current {
                try recordOwnership(c, response)
            }
            if case .offsetCommit(let response) = reply {
                trace.append("\(nowMs) client \(c) (\(clients[c].memberId) gen \(clients[c].generation))  commit \(commit.sorted { $0.key < $1.key }) -> \(response.topics.first?.partitions.first?.errorCode ?? -1)")
            }
            if case .sync(let response) = reply, current {
                trace.append("\(nowMs) client \(c) (\(clients[c].memberId) gen \(clients[c].generation)) sync -> \(response.errorCode) \((try? ConsumerProtocol.Assignment.decode(Array(response.assignment.readableBytesView)))?.partitions.flatMap(\.partitions) ?? [])")
            }
            if case .offsetCommit(let response) = reply, response.topics.first?.partitions.first?.errorCode == 0 {
                for p in response.topics.flatMap(\.partitions) where p.errorCode == 0 {
                    if let offset = commit[p.partitionIndex] {
                        highestAcked[p.partitionIndex] = max(highestAcked[p.partitionIndex] ?? -1, offset)
                    }
                }
            }
            if current, clients[c].receive(reply, nowMs: nowMs, random: &random) != nil { send(c, clients[c].outgoing!) }
        }
        try check("deliver")
    }

    mutating func apply(_ effects: [GroupEffect]) {
        for effect in effects {
            switch effect {
            case .reply(let token, let reply):
                guard let origin = waiting.removeValue(forKey: token) else { continue }
                // Answering a JoinGroup or SyncGroup starts the member's session again; other answers do not.
                if origin.incarnation == clients[origin.client].incarnation,
                   let since = reply.sessionRenewal(requestAt: origin.at, answeredAt: nowMs) {
                    lastContact[origin.client] = max(lastContact[origin.client] ?? 0, since)
                    trace.append("\(nowMs) contact \(origin.client) since \(since) by \(reply)".prefix(160).description)
                }
                if !quiet && random.next(upTo: 100) < 2 { continue }  // the reply is lost
                seq += 1
                network.append((nowMs + Int64(random.next(upTo: 200)), seq,
                                .reply(client: origin.client, incarnation: origin.incarnation, requestId: origin.requestId,
                                       commit: origin.commit, reply)))
            case .note(let text):
                trace.append("\(nowMs) \(text)")
            case .append(let writeId, let records), .appendTransactional(let writeId, _, _, let records):
                // Mostly quick; sometimes as slow as a struggling ISR (below the clients' request timeout).
                let slow = random.next(upTo: 100) < 5
                inflightWrites.append((writeId, records, nowMs + Int64(random.next(upTo: slow ? 2_500 : 400))))
            }
        }
    }

    /// The partition's leader moves: the old coordinator answers everything waiting with NOT_COORDINATOR; the
    /// new one loads the log, which holds every committed write and perhaps some of those in flight.
    mutating func failover() throws {
        let answers = shard.unload()
        if answers.contains(where: { if case .append = $0 { true } else { false } }) {
            throw Violation(description: "an unloading coordinator asked to write")
        }
        apply(answers)
        let kept = random.next(upTo: inflightWrites.count + 1)
        for write in inflightWrites.prefix(kept) { log += write.records }
        inflightWrites.removeAll()
        let counter = Counter(start: 1_000_000 + Int(nowMs))
        shard = GroupShard.loaded(from: log, settings: settings, nowMs: nowMs,
                                  makeId: { prefix in "\(prefix)-\(counter.next())" })
        trace.append("\(nowMs) coordinator failover, \(kept) in-flight writes kept")
    }

    /// A member dropped for silence must really have been silent: no request from it, and no answer to it, for
    /// its whole session.
    func checkExpiries(_ effects: [GroupEffect]) throws {
        for case .note(let text) in effects where text.contains("has failed") {
            for (c, client) in clients.enumerated() where !client.memberId.isEmpty && text.hasPrefix("Member \(client.memberId) ") {
                if let heard = lastContact[c], nowMs - heard < 6_000 {
                    throw Violation(description: "at \(nowMs): \(text), but the coordinator heard from or answered it at \(heard)")
                }
            }
        }
    }

    mutating func recordOwnership(_ c: Int, _ response: SyncGroupResponse) throws {
        let assignment = try ConsumerProtocol.Assignment.decode(Array(response.assignment.readableBytesView))
        let generation = clients[c].generation
        // A static member's new incarnation inherits the old one's assignment in the same generation.
        let identity = clients[c].instanceId ?? clients[c].memberId
        for partition in assignment.partitions.flatMap(\.partitions) {
            if let owner = owners[generation]?[partition], owner != identity {
                throw Violation(description: "generation \(generation): partition \(partition) handed to \(owner) and \(identity)")
            }
            owners[generation, default: [:]][partition] = identity
        }
    }

    mutating func check(_ event: String) throws {
        for group in shard.groups.values {
            if let leader = group.leaderId, group.members[leader] == nil {
                throw Violation(description: "after \(event) at \(nowMs): leader \(leader) is not a member of \(group.groupId) (\(group.state))")
            }
            if !group.members.isEmpty && group.leaderId == nil && group.state != .preparingRebalance {
                throw Violation(description: "after \(event) at \(nowMs): \(group.groupId) in \(group.state) has members but no leader")
            }
            if group.state == .empty && !group.members.isEmpty {
                throw Violation(description: "after \(event): an Empty group has members")
            }
        }
        let offsets = shard.committedOffsets(Self.groupId, nil)
        for (key, value) in offsets {
            if let seen = lastSeen[key.partition], value.offset < seen {
                throw Violation(description: "after \(event) at \(nowMs): committed offset of \(key.partition) went back from \(seen) to \(value.offset)")
            }
        }
        for (partition, acked) in highestAcked {
            let current = offsets[TopicPartitionKey(Self.topic, partition)]?.offset ?? -1
            if current < acked {
                throw Violation(description: "after \(event) at \(nowMs): acknowledged commit \(acked) of \(partition) lost (now \(current))")
            }
        }
        for (key, value) in offsets { lastSeen[key.partition] = value.offset }
    }
}

final class Counter: @unchecked Sendable {
    private var value: Int
    init(start: Int = 0) { value = start }
    func next() -> Int { value += 1; return value }
}

/// A deterministic generator (SplitMix64): the seed alone replays a run.
struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func nextRaw() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next(upTo bound: Int) -> Int { bound <= 0 ? 0 : Int(nextRaw() % UInt64(bound)) }
}

extension GroupReply {
    /// When Kafka's coordinator restarted the member's session for this exchange, if it did: accepted
    /// heartbeats and commits at their arrival; JoinGroup and SyncGroup when answered (a SyncGroup that waited
    /// was accepted, whatever the answer).
    func sessionRenewal(requestAt: Int64, answeredAt: Int64) -> Int64? {
        switch self {
        case .join(let r): return r.errorCode == 0 ? answeredAt : nil
        case .sync(let r): return r.errorCode == 0 || answeredAt > requestAt ? answeredAt : nil
        case .heartbeat(let r):
            return [ErrorCode.none, .rebalanceInProgress].contains(ErrorCode(rawValue: r.errorCode)) ? requestAt : nil
        case .offsetCommit(let r):
            let code = ErrorCode(rawValue: r.topics.first?.partitions.first?.errorCode ?? 0)
            return [ErrorCode.none, .coordinatorNotAvailable, .notCoordinator].contains(code) ? requestAt : nil
        default: return nil
        }
    }
}
