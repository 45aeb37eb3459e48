@testable import CrucibleRaft

// The safety properties, checked incrementally on every action a node produces and on every node after
// every event. The first violation stops the run and is reported with the seed.

struct InvariantViolation: Error, CustomStringConvertible {
    var timeMs: Int64
    var message: String
    /// Progress was not made in time; every other violation is a safety violation.
    var isLiveness = false
    var description: String { "at \(timeMs) ms: \(message)" }
}

final class InvariantChecker {
    /// Every entry ever committed by any node, indexed by offset: the history no node may contradict.
    private(set) var committed: [RaftEntry] = []
    private var leaderOfEpoch: [Int32: RaftNodeID] = [:]
    /// Log Matching, inductively: an (offset, epoch) pair names one payload and one predecessor epoch.
    private var appended: [OffsetAndEpoch: (payload: RaftPayload, previousEpoch: Int32?)] = [:]
    /// Highest epoch each node has been seen in, across restarts (the epoch is durable).
    private var epochSeen: [RaftNodeID: Int32] = [:]
    private(set) var violation: InvariantViolation?
    var nowMs: Int64 = 0
    let majority: Int

    init(majority: Int) { self.majority = majority }

    func fail(_ message: String, isLiveness: Bool = false) {
        if violation == nil { violation = InvariantViolation(timeMs: nowMs, message: message, isLiveness: isLiveness) }
    }

    /// A node's committed entries must extend or repeat the global history exactly.
    func checkCommitted(_ entries: [RaftEntry], by node: RaftNodeID) {
        for entry in entries {
            if entry.offset < Int64(committed.count) {
                let known = committed[Int(entry.offset)]
                if known != entry { fail("node \(node) committed \(entry) but \(known) was committed before") }
            } else if entry.offset == Int64(committed.count) {
                committed.append(entry)
            } else {
                fail("node \(node) committed \(entry) past the known history end \(committed.count)")
            }
        }
    }

    func checkAppended(_ entries: [RaftEntry], firstPreviousEpoch: Int32?, by node: RaftNodeID) {
        var previousEpoch = firstPreviousEpoch
        for entry in entries {
            let key = OffsetAndEpoch(offset: entry.offset, epoch: entry.epoch)
            if let known = appended[key] {
                if known.payload != entry.payload || known.previousEpoch != previousEpoch {
                    fail("Log Matching: node \(node) appended \(entry) unlike the first copy of it")
                }
            } else {
                appended[key] = (entry.payload, previousEpoch)
            }
            previousEpoch = entry.epoch
        }
    }

    func checkTruncation(toOffset offset: Int64, highWatermark: Int64, by node: RaftNodeID) {
        if offset < highWatermark { fail("node \(node) truncated to \(offset) below its high watermark \(highWatermark)") }
    }

    /// One leader per epoch, and a new leader holds every committed entry (Leader Completeness).
    func checkNewLeader(_ node: RaftNode) {
        let epoch = node.epoch
        if let other = leaderOfEpoch[epoch], other != node.config.nodeID {
            fail("two leaders in epoch \(epoch): \(other) and \(node.config.nodeID)")
        }
        leaderOfEpoch[epoch] = node.config.nodeID
        let log = node.log
        for offset in log.startOffset..<Int64(committed.count) where log.entry(at: offset) != committed[Int(offset)] {
            fail("leader \(node.config.nodeID) of epoch \(epoch) lacks committed \(committed[Int(offset)]), has "
                 + "\(log.entry(at: offset).map(String.init(describing:)) ?? "nothing")")
            return
        }
    }

    /// A leader may only move its high watermark over entries a majority holds durably.
    func checkMajorityHolds(highWatermark: Int64, leader: RaftNodeID, disks: [SimulatedDisk]) {
        guard highWatermark > 0, let last = committed.indices.contains(Int(highWatermark - 1))
            ? committed[Int(highWatermark - 1)] : nil else { return }
        let holders = disks.filter { disk in
            if let snapshot = disk.snapshot, snapshot.id.offset >= highWatermark { return true }
            return disk.durableEntry(at: last.offset) == last
        }.count
        if holders < majority {
            fail("leader \(leader) committed up to \(highWatermark) held durably by \(holders) < \(majority) nodes")
        }
    }

    func checkEpoch(_ epoch: Int32, of node: RaftNodeID) {
        if let seen = epochSeen[node], epoch < seen { fail("node \(node) went back from epoch \(seen) to \(epoch)") }
        epochSeen[node] = max(epoch, epochSeen[node] ?? epoch)
    }
}
