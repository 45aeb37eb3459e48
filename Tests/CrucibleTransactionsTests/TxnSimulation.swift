import CrucibleGroups
import CrucibleProtocol
import CrucibleRecords
import CrucibleStorage
import CrucibleTransactions

/// A seeded world around the transaction coordinator: producers (and zombies sharing their transactional ids)
/// running transactions over partitions that keep the real `ProducerStateTable`, a coordinator log whose writes
/// can fail, fail after landing, or be lost in a failover, markers delivered late and out of order (a deposed
/// coordinator's too), and transaction timeouts. Invariants are checked after every event; `trace` replays it.
struct TxnSimulation {
    struct Violation: Error, CustomStringConvertible {
        let description: String
    }

    // MARK: The world

    /// One partition: its log as (offset, producer, epoch, value or marker) and the real producer state.
    struct SimPartition {
        enum Entry { case data(pid: Int64, epoch: Int16, value: String), marker(pid: Int64, commit: Bool) }
        var log: [Entry] = []
        var state = ProducerStateTable()

        /// The value of every data entry whose producer's next marker is a COMMIT.
        var committed: [String] {
            log.enumerated().compactMap { offset, entry in
                guard case .data(let pid, _, let value) = entry, fate(of: pid, after: offset) == true else { return nil }
                return value
            }
        }

        func fate(of pid: Int64, after offset: Int) -> Bool? {
            for entry in log[(offset + 1)...] { if case .marker(pid, let commit) = entry { return commit } }
            return nil
        }

        /// The first data entry whose transaction no marker has ended yet.
        var firstUndecided: Int64? {
            log.enumerated().first { offset, entry in
                if case .data(let pid, _, _) = entry { return fate(of: pid, after: offset) == nil }
                return false
            }.map { Int64($0.offset) }
        }
    }

    struct Producer {
        enum Phase { case needsInit, initializing, ready, adding, ending(commit: Bool), fenced }
        var transactionalId: String
        var phase: Phase = .needsInit
        var producerId: Int64 = -1
        var epoch: Int16 = -1
        var partitions: [TopicPartitionKey] = []
        var values: [String] = []
        var sequence: [TopicPartitionKey: Int32] = [:]
        var waiting: TxnToken?
    }

    var seed: UInt64
    var rng: UInt64
    var settings: TxnSettings
    var shard: TxnShard
    var nowMs: Int64 = 1_000_000
    var log: [TransactionLogRecord] = []
    /// Appends in flight: write id, record, and the coordinator epoch that issued it.
    var inFlight: [(writeId: UInt64, record: TransactionLogRecord, epoch: Int32)] = []
    var markerDeliveries: [(job: MarkerJob, partition: TopicPartitionKey)] = []
    var markerAcks: [String: Set<TopicPartitionKey>] = [:]
    var partitions: [TopicPartitionKey: SimPartition] = [:]
    var producers: [Producer] = []
    var replies: [TxnToken: TxnReply] = [:]
    var nextToken: UInt64 = 1
    var nextProducerId: Int64 = 1000
    var coordinatorEpoch: Int32 = 0
    /// Values whose EndTxn(commit) was answered NONE, and those whose transaction the producer ended with abort.
    var acknowledgedCommits: Set<String> = []
    var abortedByProducer: Set<String> = []
    /// Per transaction (id, producer id, epoch, start), the outcome its markers carried.
    var decisions: [String: Bool] = [:]
    var trace: [String] = []
    let traced: Bool

    init(seed: UInt64, bug: TxnPlantedBug? = nil, traced: Bool = false) {
        self.seed = seed
        rng = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        settings = TxnSettings()
        settings.plantedBug = bug
        shard = TxnShard(settings: settings, coordinatorEpoch: 0)
        self.traced = traced
        for p in 0..<4 { partitions[TopicPartitionKey("t", Int32(p))] = SimPartition() }
        for i in 0..<3 {
            producers.append(Producer(transactionalId: "tx-\(i)"))
            producers.append(Producer(transactionalId: "tx-\(i)"))   // a second instance: the zombie maker
        }
    }

    mutating func random(_ bound: Int) -> Int {
        rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((rng >> 33) % UInt64(bound))
    }

    mutating func note(_ line: String) { if traced { trace.append("[\(nowMs)] \(line)") } }

    // MARK: Running

    /// Runs `steps` random events, then a quiet phase with no faults; checks the invariants all along.
    mutating func run(steps: Int) throws {
        for _ in 0..<steps { try step(faults: true) }
        for producer in producers.indices { producers[producer].phase = .fenced }   // clients stop
        for _ in 0..<20_000 {
            try step(faults: false)
            if quiet { break }
        }
        try checkQuiet()
    }

    var quiet: Bool { inFlight.isEmpty && markerDeliveries.isEmpty && shard.transactions.values.allSatisfy { $0.state.isIdleForTest } }

    mutating func step(faults: Bool) throws {
        nowMs += Int64(1 + random(40))
        let roll = random(100)
        switch roll {
        case 0..<15, 80... where !faults: try landWrite(fail: false)
        case 15..<35: try deliverMarker()
        case 35..<40: try apply(shard.tick(nowMs: nowMs))
        case 40..<44 where faults: try landWrite(fail: true)
        case 44..<46 where faults: try failover()
        default: try driveProducer(random(producers.count))
        }
        try checkAlways()
    }

    /// A pending append completes: it lands and is acknowledged, or is refused unwritten (the shell's contract: a
    /// record once appended is reported only when committed; if the leadership moves first, the shard is unloaded
    /// and the record's fate is the new leader's log, which `failover` models).
    mutating func landWrite(fail: Bool) throws {
        guard !inFlight.isEmpty else { return }
        let (writeId, record, epoch) = inFlight.removeFirst()
        if !fail { try appendDurably(record) }
        guard epoch == coordinatorEpoch else { return }   // its coordinator is gone
        note("write \(writeId) \(fail ? "refused" : "landed")")
        try apply(shard.writeCompleted(writeId, error: fail ? .notEnoughReplicas : .none, nowMs: nowMs))
    }

    mutating func appendDurably(_ record: TransactionLogRecord) throws {
        if let value = record.value, let previous = log.last(where: { $0.transactionalId == record.transactionalId })?.value,
           previous.producerId == value.producerId, value.producerEpoch < previous.producerEpoch {
            throw Violation(description: "seed \(seed): the epoch of \(record.transactionalId) went back from \(previous.producerEpoch) to \(value.producerEpoch)")
        }
        if let value = record.value, value.state == .completeCommit || value.state == .completeAbort {
            let key = markerKey(record.transactionalId, value.producerId, value.producerEpoch, value.state == .completeCommit)
            // Its Prepare is the last record of the id, but for this very Complete written before (a write that
            // landed but was reported failed is written again).
            let history = log.filter { $0.transactionalId == record.transactionalId }.compactMap(\.value)
            guard let prepare = history.reversed().first(where: {
                      ($0.state, $0.producerId, $0.producerEpoch) != (value.state, value.producerId, value.producerEpoch)
                  }),
                  prepare.state == (value.state == .completeCommit ? .prepareCommit : .prepareAbort) else {
                throw Violation(description: "seed \(seed): \(record.transactionalId) completed without a durable Prepare")
            }
            let missing = Set(prepare.partitions).subtracting(markerAcks[key] ?? [])
            if !missing.isEmpty {
                throw Violation(description: "seed \(seed): \(record.transactionalId) written \(value.state.name) before markers on \(missing.sorted())")
            }
        }
        log.append(record)
        note("log: \(record.transactionalId) → \(record.value.map { "\($0.state.name) pid \($0.producerId) epoch \($0.producerEpoch)" } ?? "tombstone")")
    }

    /// The coordinator moves: writes in flight land or vanish, the old shard answers NOT_COORDINATOR, and a new one
    /// loads the log with the next epoch. The old one's markers still in flight are zombies.
    mutating func failover() throws {
        for (_, record, _) in inFlight where random(2) == 0 { try appendDurably(record) }
        inFlight = []
        // A deposed coordinator stops sending; what it had sent may still arrive.
        markerDeliveries = markerDeliveries.filter { $0.job.coordinatorEpoch != coordinatorEpoch || random(2) == 0 }
        try apply(shard.unload())
        coordinatorEpoch += 1
        note("failover to coordinator epoch \(coordinatorEpoch)")
        shard = TxnShard.loaded(from: log, settings: settings, coordinatorEpoch: coordinatorEpoch)
        try apply(shard.resume(nowMs: nowMs))
    }

    mutating func deliverMarker() throws {
        guard !markerDeliveries.isEmpty else { return }
        let (job, key) = markerDeliveries.remove(at: random(markerDeliveries.count))
        var partition = partitions[key]!
        let verdict = partition.state.checkMarker(producerId: job.producerId, producerEpoch: job.producerEpoch,
                                                  coordinatorEpoch: job.coordinatorEpoch)
        guard verdict == .append else {
            note("marker for \(job.transactionalId) on \(key) refused: \(verdict)")
            partitions[key] = partition
            return
        }
        let offset = Int64(partition.log.count)
        var header = RecordBatchHeader(baseOffset: offset)
        header.attributes = 0x30
        header.producerId = job.producerId
        header.producerEpoch = job.producerEpoch
        partition.state.complete(header, marker: job.commit ? .commit : .abort, coordinatorEpoch: job.coordinatorEpoch)
        partition.log.append(.marker(pid: job.producerId, commit: job.commit))
        partitions[key] = partition
        let ackKey = markerKey(job.transactionalId, job.producerId, job.producerEpoch, job.commit)
        markerAcks[ackKey, default: []].insert(key)
        note("marker \(job.commit ? "COMMIT" : "ABORT") for \(job.transactionalId) on \(key)")
        // The coordinator that sent it counts the acknowledgements; a deposed one is gone.
        if job.coordinatorEpoch == coordinatorEpoch, Set(job.partitions).isSubset(of: markerAcks[ackKey]!),
           !markerDeliveries.contains(where: { $0.job == job }) {
            try apply(shard.markersWritten(job, nowMs: nowMs))
        }
    }

    func markerKey(_ id: String, _ pid: Int64, _ epoch: Int16, _ commit: Bool) -> String { "\(id)/\(pid)/\(epoch)/\(commit)" }

    // MARK: Effects

    mutating func apply(_ effects: [TxnEffect]) throws {
        for effect in effects {
            switch effect {
            case .reply(let token, let reply):
                replies[token] = reply
            case .append(let writeId, let record):
                inFlight.append((writeId, record, coordinatorEpoch))
            case .sendMarkers(let job):
                try checkMarkersMayGo(job)
                markerDeliveries += job.partitions.map { (job, $0) }
            case .note(let line):
                note(line)
            }
        }
    }

    /// Markers go only for a transaction whose Prepare is durable, and one transaction never gets both outcomes.
    mutating func checkMarkersMayGo(_ job: MarkerJob) throws {
        guard let prepare = log.last(where: { $0.transactionalId == job.transactionalId })?.value,
              prepare.state == (job.commit ? .prepareCommit : .prepareAbort),
              prepare.producerId == job.producerId, prepare.producerEpoch == job.producerEpoch else {
            throw Violation(description: "seed \(seed): markers for \(job.transactionalId) sent before its Prepare was durable")
        }
        let txn = "\(job.transactionalId)/\(job.producerId)/\(job.producerEpoch)/\(prepare.startMs)"
        if let earlier = decisions[txn], earlier != job.commit {
            throw Violation(description: "seed \(seed): transaction \(txn) got both COMMIT and ABORT markers")
        }
        decisions[txn] = job.commit
    }

    // MARK: Invariants

    func checkAlways() throws {
        for (key, partition) in partitions {
            var state = partition.state
            let end = Int64(partition.log.count)
            let lso = state.firstUnstableOffset(highWatermark: end) ?? end
            if lso != (partition.firstUndecided ?? end) {
                throw Violation(description: "seed \(seed): \(key) has last stable offset \(lso), the log says \(partition.firstUndecided ?? end)")
            }
            let visible = Set(partition.committed)
            if let leaked = visible.intersection(abortedByProducer).first {
                throw Violation(description: "seed \(seed): \(leaked), aborted by its producer, is committed on \(key)")
            }
        }
    }

    func checkQuiet() throws {
        guard quiet else {
            let stuck = shard.transactions.values.filter { !$0.state.isIdleForTest }.map { "\($0.transactionalId) \($0.state.name)" }
            throw Violation(description: "seed \(seed): not quiet after the quiet phase: \(inFlight.count) writes, "
                            + "\(markerDeliveries.count) markers, stuck \(stuck)")
        }
        let visible = Set(partitions.values.flatMap(\.committed))
        if let lost = acknowledgedCommits.subtracting(visible).sorted().first {
            throw Violation(description: "seed \(seed): \(lost) was in an acknowledged commit but is not committed")
        }
        for (key, partition) in partitions where partition.firstUndecided != nil {
            throw Violation(description: "seed \(seed): \(key) still has an open transaction")
        }
    }
}

extension TxnState {
    var isIdleForTest: Bool { self == .empty || self == .completeCommit || self == .completeAbort }
}

// MARK: Producers

extension TxnSimulation {
    /// One step of producer `index`: take the answer it waits for, or send its next request. A fenced producer
    /// starts over with InitProducerId, as an application restarting its producer would.
    mutating func driveProducer(_ index: Int) throws {
        var producer = producers[index]
        defer { producers[index] = producer }
        if let token = producer.waiting {
            guard let reply = replies.removeValue(forKey: token) else { return }
            producer.waiting = nil
            try take(reply, &producer)
            return
        }
        let token = TxnToken(nextToken)
        nextToken += 1
        switch producer.phase {
        case .needsInit, .initializing:
            producer.phase = .initializing
            producer.waiting = token
            let fresh = nextProducerId
            nextProducerId += 1
            try apply(shard.initProducerId(producer.transactionalId, timeoutMs: 2_000, expected: nil, freshProducerId: fresh,
                                           token: token, nowMs: nowMs))
        case .ready, .adding:
            if case .ready = producer.phase {
                let all = partitions.keys.sorted()
                producer.partitions = (0..<(1 + random(3))).map { _ in all[random(all.count)] }
                producer.values = producer.partitions.indices.map { "\(producer.transactionalId)-\(nowMs)-\($0)" }
            }
            producer.phase = .adding
            producer.waiting = token
            try apply(shard.addPartitions(producer.transactionalId, producerId: producer.producerId, epoch: producer.epoch,
                                          partitions: producer.partitions, token: token, nowMs: nowMs))
        case .ending(let commit):
            producer.waiting = token
            try apply(shard.endTxn(producer.transactionalId, producerId: producer.producerId, epoch: producer.epoch,
                                   commit: commit, token: token, nowMs: nowMs))
        case .fenced:
            return
        }
    }

    private mutating func take(_ reply: TxnReply, _ producer: inout Producer) throws {
        switch (producer.phase, reply) {
        case (.initializing, .initProducerId(let code, let pid, let epoch)):
            guard code == .none else { return }   // retried on its next step
            producer.producerId = pid
            producer.epoch = epoch
            producer.sequence = [:]
            producer.phase = .ready
            note("\(producer.transactionalId) is producer \(pid) epoch \(epoch)")
        case (.adding, .addPartitions(let code)):
            if code == .producerFenced || code == .invalidProducerIdMapping { producer.phase = .needsInit; return }
            guard code == .none else { return }
            for (key, value) in zip(producer.partitions, producer.values) where !writeData(value, to: key, &producer) {
                producer.phase = .needsInit
                return
            }
            producer.phase = .ending(commit: random(3) != 0)
        case (.ending(let commit), .endTxn(let code)):
            switch code {
            case .none:
                if commit { acknowledgedCommits.formUnion(producer.values) } else { abortedByProducer.formUnion(producer.values) }
                producer.phase = .ready
            case .producerFenced, .invalidProducerIdMapping, .invalidTxnState:
                producer.phase = .needsInit
            default:
                return   // retried
            }
        default:
            if producer.phase != .fenced { throw Violation(description: "seed \(seed): \(reply) while \(producer.phase)") }
        }
    }

    /// A transactional batch of one value, checked by the partition's real producer state.
    private mutating func writeData(_ value: String, to key: TopicPartitionKey, _ producer: inout Producer) -> Bool {
        var partition = partitions[key]!
        var header = RecordBatchHeader(baseOffset: Int64(partition.log.count))
        header.attributes = 0x10
        header.producerId = producer.producerId
        header.producerEpoch = producer.epoch
        header.baseSequence = producer.sequence[key] ?? 0
        let verdict = partition.state.check(header)
        guard verdict == .append else {
            note("\(producer.transactionalId) write to \(key) refused: \(verdict)")
            return false
        }
        partition.state.update(header)
        partition.log.append(.data(pid: producer.producerId, epoch: producer.epoch, value: value))
        partitions[key] = partition
        producer.sequence[key] = header.baseSequence + 1
        return true
    }
}

extension TxnSimulation.Producer.Phase: Equatable {}
