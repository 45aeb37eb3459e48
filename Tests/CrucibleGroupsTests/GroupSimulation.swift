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
    var waiting: [RequestToken: (client: Int, incarnation: Int, requestId: Int, commit: [Int32: Int64])] = [:]
    var nextToken: RequestToken = 1
    var idCounter = 0
    /// Invariant bookkeeping.
    var owners: [Int32: [Int32: String]] = [:]  // generation -> partition -> instance or member id
    var highestAcked: [Int32: Int64] = [:]
    var lastSeen: [Int32: Int64] = [:]
    var trace: [String] = []

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
            clients.append(SimConsumer(index: index, instanceId: index % 2 == 0 ? "static-\(index)" : nil))
        }
    }

    mutating func run(steps: Int) throws {
        for _ in 0..<steps {
            try step()
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
            let error: ErrorCode = roll < 90 ? .none : roll < 95 ? .notEnoughReplicas : .requestTimedOut
            if error == .none { log += write.records }
            trace.append("\(nowMs) write \(write.writeId) \(error.name): \(write.records.map { r -> String in if case .offsetCommit(let k, let v) = r { return "\(k.partition)=\(v?.offset ?? -1)" } else { return "group" } })")
            apply(shard.writeCompleted(write.writeId, error: error, nowMs: nowMs))
            try check("write \(write.writeId) \(error.name)")
        }
        apply(shard.tick(nowMs: nowMs))
        try check("tick")
        // Something happens.
        let roll = random.next(upTo: 1000)
        if roll < 8 {
            failover()
        } else if roll < 20 {
            let c = random.next(upTo: clients.count)
            clients[c].crash(at: nowMs, random: &random)
            trace.append("\(nowMs) client \(c) crashes")
        } else if roll < 28 {
            let c = random.next(upTo: clients.count)
            clients[c].pause(until: nowMs + Int64(random.next(upTo: 20_000)))
            trace.append("\(nowMs) client \(c) pauses")
        } else {
            for c in clients.indices where clients[c].act(nowMs: nowMs, random: &random) != nil { send(c, clients[c].outgoing!) }
        }
        try check("step")
    }

    mutating func send(_ c: Int, _ request: (id: Int, request: Request)) {
        let delay = Int64(random.next(upTo: 200))
        if random.next(upTo: 100) < 2 {
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
            waiting[token] = (c, incarnation, requestId, commit)
            var effects: [GroupEffect]
            switch request {
            case .join(let r): effects = shard.join(r, version: 9, clientId: "c\(c)", clientHost: "/sim", token: token, nowMs: nowMs)
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
                if random.next(upTo: 100) < 2 { continue }  // the reply is lost
                seq += 1
                network.append((nowMs + Int64(random.next(upTo: 200)), seq,
                                .reply(client: origin.client, incarnation: origin.incarnation, requestId: origin.requestId,
                                       commit: origin.commit, reply)))
            case .note:
                continue
            case .append(let writeId, let records):
                inflightWrites.append((writeId, records, nowMs + Int64(random.next(upTo: 400))))
            }
        }
    }

    /// The partition's leader moves: the old coordinator answers everything waiting with NOT_COORDINATOR; the
    /// new one loads the log, which holds every committed write and perhaps some of those in flight.
    mutating func failover() {
        apply(shard.unload())
        let kept = random.next(upTo: inflightWrites.count + 1)
        for write in inflightWrites.prefix(kept) { log += write.records }
        inflightWrites.removeAll()
        let counter = Counter(start: 1_000_000 + Int(nowMs))
        shard = GroupShard.loaded(from: log, settings: settings, nowMs: nowMs,
                                  makeId: { prefix in "\(prefix)-\(counter.next())" })
        trace.append("\(nowMs) coordinator failover, \(kept) in-flight writes kept")
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
