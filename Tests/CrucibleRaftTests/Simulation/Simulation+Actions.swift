@testable import CrucibleRaft

// Carrying out a node's actions the way a broker would, with the simulated disk and network, and checking
// each one as it happens.

extension Simulation {
    func perform(_ actions: [RaftAction], on node: SimulatedNode) {
        guard let raft = node.raft else { return }
        var highWatermark = Int64(node.applied.count)
        for action in actions {
            switch action {
            case .persistElectionState(let state):
                checker.checkEpoch(state.epoch, of: node.id)
                node.disk.election = state
            case .send(let message):
                send(message)
            case .appendToLog(let entries):
                let previous = entries.first.flatMap { raft.log.epoch(before: $0.offset) }
                checker.checkAppended(entries, firstPreviousEpoch: previous, by: node.id)
                node.disk.append(entries)
            case .truncateLog(let offset):
                checker.checkTruncation(toOffset: offset, highWatermark: highWatermark, by: node.id)
                result.truncations += 1
                node.disk.truncate(toOffset: offset)
            case .flushLog(let upTo):
                let delay = random.next(in: 0..<(options.flushDelayMsMax + 1))
                queue.schedule(.flushed(node.id, incarnation: node.incarnation, upTo: upTo), atMs: nowMs + delay)
            case .writeSnapshot(let snapshot):
                node.disk.snapshot = snapshot
                result.snapshotsTaken += 1
            case .trimLogPrefix(let offset):
                node.disk.trimPrefix(toOffset: offset)
            case .installSnapshot(let snapshot):
                node.disk.install(snapshot)
                result.snapshotInstalls += 1
                let entries = SnapshotCodec.decode(snapshot.data, voters: voters)
                checker.checkCommitted(entries, by: node.id)
                if Int64(entries.count) != snapshot.id.offset || entries.last?.epoch != snapshot.id.epoch {
                    checker.fail("node \(node.id) installed snapshot \(snapshot.id) with \(entries.count) entries")
                }
                node.applied = entries
            case let .commit(newHighWatermark, entries):
                if newHighWatermark <= highWatermark {
                    checker.fail("node \(node.id) high watermark went from \(highWatermark) to \(newHighWatermark)")
                }
                if let first = entries.first, first.offset != Int64(node.applied.count) {
                    checker.fail("node \(node.id) committed from \(first.offset) but applied \(node.applied.count)")
                }
                checker.checkCommitted(entries, by: node.id)
                node.applied += entries
                highWatermark = newHighWatermark
                if Int64(node.applied.count) != highWatermark {
                    checker.fail("node \(node.id) applied \(node.applied.count) entries at high watermark \(highWatermark)")
                }
                if raft.role == .leader {
                    checker.checkMajorityHolds(highWatermark: highWatermark, leader: node.id,
                                               disks: nodes.prefix(voters.count).map(\.disk))
                }
            case let .roleChanged(role, epoch, leader):
                if options.trace {
                    print("\(nowMs) node \(node.id) \(role)@\(epoch) leader \(leader.map(String.init) ?? "-") "
                          + "log end \(raft.log.end) hw \(raft.highWatermark)")
                }
                if role == .leader {
                    result.elections += 1
                    checker.checkNewLeader(raft)
                    // A leader dying during its first round of replication leaves the partly replicated
                    // entries that make elections subtle (Raft figure 8).
                    if faultsActive, options.crashes, random.chance(options.newLeaderCrashProbability) {
                        // Often before its followers even heard of it, otherwise during its first fetches.
                        let delay = random.chance(0.5) ? random.next(in: 1..<20) : random.next(in: 20..<400)
                        queue.schedule(.crash(node.id, incarnation: node.incarnation), atMs: nowMs + delay)
                    }
                }
            }
        }
        scheduleTick(node)
    }

    private func scheduleTick(_ node: SimulatedNode) {
        guard let raft = node.raft else { return }
        let deadline = max(nowMs, raft.nextDeadlineMs)
        guard deadline != .max, deadline < node.scheduledTickMs || node.scheduledTickMs < nowMs else { return }
        node.scheduledTickMs = deadline
        queue.schedule(.tick(node.id), atMs: deadline)
    }

    private func send(_ message: RaftMessage) {
        let source = node(message.source), destination = node(message.destination)
        let copies = faultsActive && random.chance(options.duplicateProbability) ? 2 : 1
        for _ in 0..<copies {
            if faultsActive, random.chance(options.dropProbability) { continue }
            var delay = random.next(in: 1..<(options.networkDelayMsMax + 1))
            if faultsActive, random.chance(options.slowMessageProbability) {
                delay += random.next(in: 0..<options.slowMessageDelayMsMax)
            }
            queue.schedule(.deliver(message, sourceIncarnation: source.incarnation,
                                    destinationIncarnation: destination.incarnation), atMs: nowMs + delay)
        }
    }

    func canTalk(_ a: RaftNodeID, _ b: RaftNodeID) -> Bool {
        partitionGroup.isEmpty || partitionGroup[a] == partitionGroup[b]
    }

    func node(_ id: RaftNodeID) -> SimulatedNode { nodes[Int(id) - 1] }
}
