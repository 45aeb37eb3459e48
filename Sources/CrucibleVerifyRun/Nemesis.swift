import CrucibleVerify
import CrucibleWorkload
import Foundation

/// Carries out a nemesis plan against the cluster: each step at its time, its target resolved against the
/// cluster as it is then, recorded in the history as a `"nemesis"` operation and in the timeline. It remembers
/// what it broke so that the end of the run (or a healing step) can undo it.
final class Nemesis: @unchecked Sendable {
    struct Event: Codable {
        var atSeconds: Double
        var fault: String
        var target: String
        var nodes: [Int32]
        /// For a network cut: each node and the nodes it dropped packets from, and how many in a hundred.
        var drops: [String: [Int32]]?
        var lossPercent: Int?
        /// For a clock bump or strobe: seconds the nodes' wall clocks moved; for a strobe, how often they flipped.
        var clockOffsetSeconds: Int?
        var strobePeriodMs: Int?
        /// For a disk fault: the calls that fail and the error (`write EIO`).
        var diskFault: String?
        var error: String?
    }

    private let cluster: VerifyCluster
    private var view: ClusterView
    private let history: HistoryRecorder
    private let plan: [NemesisStep]
    private(set) var timeline: [Event] = []
    private var killed: Set<Int32> = []
    private var paused: Set<Int32> = []
    private var networkCut = false
    private var skewed: Set<Int32> = []
    private var strobes: [Int32: ClockStrobe] = [:]
    private var brokenDisks: Set<Int32> = []
    /// The nodes each executed step hit, by plan index (what `sameAs` heals).
    private var hit: [Int: [Int32]] = [:]

    init(cluster: VerifyCluster, view: ClusterView, history: HistoryRecorder, plan: [NemesisStep]) {
        self.cluster = cluster
        self.view = view
        self.history = history
        self.plan = plan
        self.view.unreachable = { [unowned self] in killed.union(paused) }
    }

    /// Runs the plan from `start` until it is done or `shouldStop` says so.
    func run(start: Date, shouldStop: () -> Bool) {
        for (index, step) in plan.enumerated() {
            while Date().timeIntervalSince(start) < step.atSeconds {
                if shouldStop() { return }
                usleep(20_000)
            }
            if shouldStop() { return }
            execute(step, index: index, at: Date().timeIntervalSince(start))
        }
    }

    /// Undoes everything still broken: resumes paused nodes, restarts killed ones.
    func healAll(at seconds: Double) {
        if networkCut { apply(.heal, to: cluster.nodeIds.sorted(), target: "partitions", at: seconds) }
        if !skewed.isEmpty { apply(.resetClock, to: skewed.sorted(), target: "skewed", at: seconds) }
        if !brokenDisks.isEmpty { apply(.healDisk, to: brokenDisks.sorted(), target: "broken disks", at: seconds) }
        if !paused.isEmpty { apply(.resume, to: paused.sorted(), target: "paused", at: seconds) }
        if !killed.isEmpty { apply(.restart, to: killed.sorted(), target: "killed", at: seconds) }
    }

    private func execute(_ step: NemesisStep, index: Int, at seconds: Double) {
        let nodes = resolve(step)
        hit[index] = nodes
        var cut: NetworkCut?
        if step.fault.cutsNetwork && !nodes.isEmpty {
            let all = cluster.nodeIds.sorted()
            switch step.target {
            case .ring: cut = .ring(nodes)
            case .bridge: cut = .bridge(nodes)
            case .all where step.fault == .lossy: cut = .everyLink(among: all, percent: step.lossPercent)
            default: cut = .isolating(Set(nodes), among: all)
            }
            if step.fault == .lossy { cut!.percent = step.lossPercent }
        }
        apply(step.fault, to: nodes, target: describe(step), cut: cut, clockOffset: step.clockOffsetSeconds,
              strobePeriodMs: step.strobePeriodMs, disk: step.disk, at: seconds)
    }

    private func describe(_ step: NemesisStep) -> String {
        switch step.target {
        case .leader, .follower, .followers: return "\(step.target) of key \(step.key)"
        default: return step.target.description
        }
    }

    private func resolve(_ step: NemesisStep) -> [Int32] {
        let nodes = cluster.nodeIds.sorted()
        func choose(_ count: Int, from candidates: [Int32]) -> [Int32] {
            shuffled(candidates, by: step.pick).prefix(count).sorted()
        }
        switch step.target {
        case .one: return choose(1, from: nodes)
        case .all: return nodes
        case .ring, .bridge: return shuffled(nodes, by: step.pick)
        case .majority: return choose(nodes.count / 2 + 1, from: nodes)
        case .node(let id): return [id]
        case .killed: return killed.sorted()
        case .paused: return paused.sorted()
        case .sameAs(let earlier): return hit[earlier] ?? []
        case .controller: return view.activeController().map { [$0] } ?? []
        case .txnCoordinator:
            guard !view.transactionalIds.isEmpty else { return [] }
            let id = view.transactionalIds[Int(step.pick % UInt64(view.transactionalIds.count))]
            return view.coordinator(of: id, keyType: 1).map { [$0] } ?? []
        case .groupCoordinator: return view.coordinator(of: view.group, keyType: 0).map { [$0] } ?? []
        case .leader:
            guard let leader = view.replicas(key: step.key)?.leader, leader >= 0 else { return [] }
            return [leader]
        case .followers: return view.replicas(key: step.key)?.others.sorted() ?? []
        case .follower: return view.replicas(key: step.key)?.others.first.map { [$0] } ?? []
        }
    }

    /// `nodes` in an order drawn from `pick` (a ring's circle, a bridge's line).
    private func shuffled(_ nodes: [Int32], by pick: UInt64) -> [Int32] {
        var pool = nodes, order: [Int32] = [], draw = pick
        while !pool.isEmpty {
            order.append(pool.remove(at: Int(draw % UInt64(pool.count))))
            draw = draw / 7 &+ 0x9E37_79B9
        }
        return order
    }

    private func apply(_ fault: NemesisFault, to nodes: [Int32], target: String, cut: NetworkCut? = nil,
                       clockOffset: Int = 0, strobePeriodMs: Int = 0, disk: DiskFault? = nil, at seconds: Double) {
        var failures: [String] = []
        for node in nodes {
            do {
                switch fault {
                case .kill:
                    try cluster.kill(node: node)
                    killed.insert(node)
                case .restart:
                    if paused.remove(node) != nil { try cluster.resume(node: node) }
                    try cluster.start(node: node)
                    killed.remove(node)
                case .pause:
                    guard !killed.contains(node) else { continue }
                    try cluster.pause(node: node)
                    paused.insert(node)
                case .resume:
                    try cluster.resume(node: node)
                    paused.remove(node)
                case .bumpClock:
                    try cluster.setClock(node: node, offsetSeconds: clockOffset)
                    skewed.insert(node)
                case .strobeClock:
                    _ = strobes.removeValue(forKey: node)?.stop()
                    try cluster.setClock(node: node, offsetSeconds: clockOffset)  // a cluster that cannot fails here
                    strobes[node] = ClockStrobe(cluster: cluster, node: node, offsetSeconds: clockOffset, periodMs: strobePeriodMs)
                    skewed.insert(node)
                case .resetClock:
                    if let strobe = strobes.removeValue(forKey: node), let failure = strobe.stop() { failures.append(failure) }
                    try cluster.setClock(node: node, offsetSeconds: 0)
                    skewed.remove(node)
                case .diskFault:
                    try cluster.setDiskFault(node: node, disk)
                    brokenDisks.insert(node)
                case .healDisk:
                    try cluster.setDiskFault(node: node, nil)
                    brokenDisks.remove(node)
                    // A node that halted on its failed disk comes back, as an operator would bring it once the
                    // disk is replaced; a running one (nothing written yet) is left alone.
                    try cluster.start(node: node)
                    killed.remove(node)
                case .partition, .lossy, .heal:
                    continue  // the whole cut at once, below
                }
            } catch {
                failures.append("node \(node): \(error)")
            }
        }
        do {
            switch fault {
            case .partition, .lossy:
                if let cut {
                    try cluster.cut(cut)
                    networkCut = true
                }
            case .heal:
                try cluster.healPartitions()
                networkCut = false
            default: break
            }
        } catch {
            failures.append("\(fault.rawValue) \(nodes): \(error)")
        }
        let names: [Value] = nodes.map { .string("n\($0)") }
        history.record(process: .named("nemesis"), type: .info, f: fault.rawValue, value: .vector(names))
        let drops = cut.map { cut in Dictionary(uniqueKeysWithValues: cut.drops.map { ("n\($0.key)", $0.value.sorted()) }) }
        timeline.append(Event(atSeconds: (seconds * 1_000).rounded() / 1_000, fault: fault.rawValue, target: target,
                              nodes: nodes, drops: drops, lossPercent: cut.flatMap { $0.percent < 100 ? $0.percent : nil },
                              clockOffsetSeconds: fault == .bumpClock || fault == .strobeClock ? clockOffset : nil,
                              strobePeriodMs: fault == .strobeClock ? strobePeriodMs : nil,
                              diskFault: fault == .diskFault ? disk?.description : nil,
                              error: failures.isEmpty ? nil : failures.joined(separator: "; ")))
    }
}

/// Flips a node's wall clock between the offset it was given and true time every period, on a thread of its own,
/// until stopped (Jepsen's strobe-time: a clock that cannot be trusted from one read to the next).
final class ClockStrobe: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private var failure: String?
    private let finished = DispatchSemaphore(value: 0)
    private let cluster: VerifyCluster

    /// Starts flipping; the clock already stands at `offsetSeconds`.
    init(cluster: VerifyCluster, node: Int32, offsetSeconds: Int, periodMs: Int) {
        self.cluster = cluster
        let thread = Thread { [self] in
            var shifted = true
            flipping: while true {
                // In slices, so that stopping waits 20 ms at most, whatever the period.
                var slept = 0
                while slept < periodMs {
                    if lock.withLock({ stopped }) { break flipping }
                    let slice = min(20, periodMs - slept)
                    usleep(UInt32(slice) * 1_000)
                    slept += slice
                }
                if lock.withLock({ stopped }) { break }
                shifted.toggle()
                do {
                    try self.cluster.setClock(node: node, offsetSeconds: shifted ? offsetSeconds : 0)
                } catch {
                    lock.withLock { failure = "strobing node \(node): \(error)" }
                    break
                }
            }
            finished.signal()
        }
        thread.name = "clock-strobe-\(node)"
        thread.start()
    }

    /// Stops flipping (within 20 ms), once the last flip is written, so a reset after it stands; what went wrong,
    /// if anything.
    func stop() -> String? {
        lock.withLock { stopped = true }
        finished.wait()
        return lock.withLock { failure }
    }
}
