import CrucibleRaft  // SplitMix64
import Foundation

/// What the nemesis does to nodes: Jepsen's kill, pause and network partition, lossy links, clock jumps and
/// failing disks, each with the step that heals it.
public enum NemesisFault: String, CaseIterable, Sendable, Equatable {
    case kill, restart, pause, resume
    /// Cut the target nodes off from the others (both ways, or in the target's shape: a ring, a bridge), or drop
    /// a share of the packets between them at random (`lossy`); `heal` removes every cut.
    case partition, lossy, heal
    /// Move the target nodes' wall clocks (Jepsen's clock bump), or flip them between true time and an offset
    /// every period (Jepsen's strobe); `reset-clock` puts them back.
    case bumpClock = "bump-clock", strobeClock = "strobe-clock", resetClock = "reset-clock"
    /// Make the target nodes' writes or fsyncs in their log directories fail (the broker halts, as Kafka's does);
    /// `heal-disk` mends the disk and starts the node again if it stopped.
    case diskFault = "disk-fault", healDisk = "heal-disk"

    /// Whether this fault works on the network between nodes (and needs each node on a host of its own).
    public var cutsNetwork: Bool { self == .partition || self == .lossy }

    /// The step that undoes this one, for the faults that have one.
    public var healing: NemesisFault? {
        switch self {
        case .kill: return .restart
        case .pause: return .resume
        case .partition, .lossy: return .heal
        case .bumpClock, .strobeClock: return .resetClock
        case .diskFault: return .healDisk
        case .restart, .resume, .heal, .resetClock, .healDisk: return nil
        }
    }
}

/// Which nodes a step hits, resolved against the cluster when the step runs (leaders move).
public enum NemesisTarget: Sendable, Equatable, CustomStringConvertible {
    /// One node chosen by the seed.
    case one
    /// The leader, or the other replicas, of a key's partition.
    case leader, followers
    /// The replica of a key's partition a leader change tries first: the first in replica order after the
    /// leader (the one to make lag, so that an election which ignores the ISR would pick it).
    case follower
    /// The active controller (the metadata quorum's leader).
    case controller
    /// The transaction coordinator of a client's transactional id (the transactional workload), and the
    /// coordinator of the run's consumer group (subscribe mode).
    case txnCoordinator, groupCoordinator
    /// A majority of the nodes, chosen by the seed.
    case majority
    case all
    case node(Int32)
    /// The nodes the fault step at this index of the plan hit (what a healing step heals).
    case sameAs(Int)
    /// Every node currently killed, or paused.
    case killed, paused
    /// Network shapes over every node, in an order the seed draws: Jepsen's majorities ring (each node hears a
    /// different majority) and bridge (two halves joined by one node both hear). Partitions and lossy links only.
    case ring, bridge

    /// Whether this target is a shape of the network rather than a set of nodes.
    public var isNetworkShape: Bool { self == .ring || self == .bridge }

    public static func parse(_ text: String) -> NemesisTarget? {
        switch text {
        case "one": return .one
        case "leader": return .leader
        case "followers": return .followers
        case "follower": return .follower
        case "controller": return .controller
        case "txn-coordinator": return .txnCoordinator
        case "group-coordinator": return .groupCoordinator
        case "majority": return .majority
        case "all": return .all
        case "killed": return .killed
        case "paused": return .paused
        case "ring": return .ring
        case "bridge": return .bridge
        default:
            guard text.hasPrefix("node:"), let id = Int32(text.dropFirst(5)) else { return nil }
            return .node(id)
        }
    }

    public var description: String {
        switch self {
        case .one: return "one"
        case .leader: return "leader"
        case .followers: return "followers"
        case .follower: return "follower"
        case .controller: return "controller"
        case .txnCoordinator: return "txn-coordinator"
        case .groupCoordinator: return "group-coordinator"
        case .majority: return "majority"
        case .all: return "all"
        case .node(let id): return "node:\(id)"
        case .sameAs(let step): return "step \(step)'s nodes"
        case .killed: return "killed"
        case .paused: return "paused"
        case .ring: return "ring"
        case .bridge: return "bridge"
        }
    }
}

/// One step of a nemesis plan: at a time from the test's start, a fault on a target (for `leader`, `follower`
/// and `followers`, of `key`'s partition); `pick` is the seed's draw for choosing among candidate nodes.
public struct NemesisStep: Sendable, Equatable {
    public var atSeconds: Double
    public var fault: NemesisFault
    public var target: NemesisTarget
    public var key: Int
    public var pick: UInt64
    /// For `lossy`: the packets dropped, per hundred.
    public var lossPercent: Int = NemesisSpec.defaultLossPercent
    /// For `bump-clock` and `strobe-clock`: how far the clock moves, in seconds (negative: back).
    public var clockOffsetSeconds: Int = 0
    /// For `strobe-clock`: how long the clock stays at each of its two times, in milliseconds.
    public var strobePeriodMs: Int = NemesisSpec.defaultStrobePeriodMs
    /// For `disk-fault`: which calls fail, and how.
    public var disk = DiskFault(operation: .write, error: .eio)
}

/// The nemesis section of a scenario: either an explicit schedule, or faults drawn at random (by the seed) at an
/// interval, each healed after a duration.
public struct NemesisSpec: Sendable, Equatable {
    public var schedule: [NemesisStep]
    public var faults: [NemesisFault]
    public var targets: [NemesisTarget]
    public var startSeconds: Double
    public var intervalSeconds: Double
    public var durationSeconds: Double
    /// For `lossy` faults: the packets dropped, per hundred (`lossPercent`, default 30).
    public var lossPercent: Int = defaultLossPercent

    public static let defaultLossPercent = 30
    /// For `bump-clock` and `strobe-clock` faults drawn at random: the largest move, in seconds, either way
    /// (`clockBumpSeconds`).
    public var clockBumpSeconds: Int = 60
    /// For `strobe-clock`: milliseconds between flips (`strobePeriodMs`, default 100).
    public var strobePeriodMs: Int = defaultStrobePeriodMs
    public static let defaultStrobePeriodMs = 100
    /// For `disk-fault` faults drawn at random: the operations and errors drawn from (`diskOperations`,
    /// `diskErrors`; default all of each).
    public var diskOperations = DiskFault.Operation.allCases
    public var diskErrors = DiskFault.Failure.allCases

    /// Whether any step breaks a disk, which needs the nodes started with the disk-fault library.
    public var breaksDisks: Bool { faults.contains(.diskFault) || schedule.contains { $0.fault == .diskFault } }

    /// Whether any step moves a clock, which needs the nodes started with movable clocks.
    public var movesClocks: Bool {
        faults.contains { $0 == .bumpClock || $0 == .strobeClock } || schedule.contains { $0.fault == .bumpClock || $0.fault == .strobeClock }
    }

    /// Whether any step cuts the network, which needs each node on a host of its own.
    public var partitions: Bool { faults.contains(where: \.cutsNetwork) || schedule.contains { $0.fault.cutsNetwork } }

    public static let none = NemesisSpec(schedule: [], faults: [], targets: [], startSeconds: 0, intervalSeconds: 0,
                                         durationSeconds: 0)

    static func load(_ map: inout YAMLMapping, nodes: Int) throws -> NemesisSpec {
        var spec = NemesisSpec.none
        for name in try map.stringList("faults") {
            guard let fault = NemesisFault(rawValue: name), fault.healing != nil else {
                throw WorkloadFileError(map.file, "faults: \(name) is not kill, pause, partition, lossy, bump-clock, strobe-clock or disk-fault")
            }
            spec.faults.append(fault)
        }
        spec.targets = try map.stringList("targets").map { name in
            guard let target = NemesisTarget.parse(name) else {
                throw WorkloadFileError(map.file, "targets: \(name) is not one, leader, follower, followers, controller, txn-coordinator, group-coordinator, majority, all, ring, bridge or node:N")
            }
            return target
        }
        if spec.targets.isEmpty { spec.targets = [.one] }
        if let shape = spec.targets.first(where: \.isNetworkShape), let other = spec.faults.first(where: { !$0.cutsNetwork }) {
            throw WorkloadFileError(map.file, "targets: \(shape) shapes a partition or lossy link, not \(other.rawValue)")
        }
        spec.lossPercent = try map.int("lossPercent", default: defaultLossPercent, range: 1...99)
        spec.clockBumpSeconds = try map.int("clockBumpSeconds", default: 60, range: 1...31_536_000)
        spec.strobePeriodMs = try map.int("strobePeriodMs", default: defaultStrobePeriodMs, range: 10...60_000)
        spec.diskOperations = try map.stringList("diskOperations").map { name in
            guard let operation = DiskFault.Operation(rawValue: name) else {
                throw WorkloadFileError(map.file, "diskOperations: \(name) is not write or fsync")
            }
            return operation
        }
        if spec.diskOperations.isEmpty { spec.diskOperations = DiskFault.Operation.allCases }
        spec.diskErrors = try map.stringList("diskErrors").map { name in
            guard let failure = DiskFault.Failure(rawValue: name) else { throw WorkloadFileError(map.file, "diskErrors: \(name) is not EIO or ENOSPC") }
            return failure
        }
        if spec.diskErrors.isEmpty { spec.diskErrors = DiskFault.Failure.allCases }
        spec.startSeconds = try map.double("startSeconds", default: 5, range: 0...86_400)
        spec.intervalSeconds = try map.double("intervalSeconds", default: 10, range: 0.1...86_400)
        spec.durationSeconds = try map.double("durationSeconds", default: 3, range: 0.1...86_400)
        if let steps = map.raw("schedule") {
            map.markRead("schedule")
            guard let list = steps as? [Any] else { throw WorkloadFileError(map.file, "schedule: expected a list of steps") }
            for (index, item) in list.enumerated() {
                guard let values = item as? [String: Any] else {
                    throw WorkloadFileError(map.file, "schedule[\(index)]: expected a mapping of at, do, target")
                }
                var step = YAMLMapping(file: "\(map.file) schedule[\(index)]", values: values)
                let faultName = try step.string("do") ?? ""
                guard let fault = NemesisFault(rawValue: faultName) else {
                    throw WorkloadFileError(step.file, "do: \(faultName) is not kill, restart, pause, resume, partition, lossy, heal, bump-clock, strobe-clock, reset-clock, disk-fault or heal-disk")
                }
                let targetName = try step.string("target") ?? ""
                guard let target = NemesisTarget.parse(targetName) else {
                    throw WorkloadFileError(step.file, "target: \(targetName) is not one, leader, follower, followers, controller, txn-coordinator, group-coordinator, majority, all, killed, paused, ring, bridge or node:N")
                }
                if target.isNetworkShape && !fault.cutsNetwork {
                    throw WorkloadFileError(step.file, "target: \(target) shapes a partition or lossy link, not \(fault.rawValue)")
                }
                if case .node(let id) = target, !(1...Int32(nodes)).contains(id) {
                    throw WorkloadFileError(step.file, "target: node \(id) is not one of the \(nodes) nodes")
                }
                guard let at = try step.number("at"), at >= 0 else { throw WorkloadFileError(step.file, "at: expected seconds >= 0") }
                let key = try step.int("key", default: 0, range: 0...999)
                let loss = try step.int("lossPercent", default: spec.lossPercent, range: 1...99)
                let offset = try step.int("seconds", default: spec.clockBumpSeconds, range: -31_536_000...31_536_000)
                let period = try step.int("periodMs", default: spec.strobePeriodMs, range: 10...60_000)
                let operationName = try step.string("operation") ?? "write"
                guard let operation = DiskFault.Operation(rawValue: operationName) else {
                    throw WorkloadFileError(step.file, "operation: \(operationName) is not write or fsync")
                }
                let errorName = try step.string("error") ?? "EIO"
                guard let failure = DiskFault.Failure(rawValue: errorName) else {
                    throw WorkloadFileError(step.file, "error: \(errorName) is not EIO or ENOSPC")
                }
                if let unread = step.unreadKeys.first { throw WorkloadFileError(step.file, "\(unread): unknown key") }
                spec.schedule.append(NemesisStep(atSeconds: at, fault: fault, target: target, key: key, pick: 0,
                                                 lossPercent: loss, clockOffsetSeconds: offset, strobePeriodMs: period,
                                                 disk: DiskFault(operation: operation, error: failure)))
            }
        }
        if !spec.schedule.isEmpty && !spec.faults.isEmpty {
            throw WorkloadFileError(map.file, "schedule: give either a schedule or faults, not both")
        }
        return spec
    }

    /// The steps of one run: the schedule as written, or faults drawn from `seed` until `timeLimitSeconds`, each
    /// healed `durationSeconds` later. The same seed gives the same plan.
    public func plan(seed: UInt64, timeLimitSeconds: Double, keys: Int) -> [NemesisStep] {
        var random = SplitMix64(seed: seed ^ 0x6e656d65736973)
        if !schedule.isEmpty {
            return schedule.sorted { $0.atSeconds < $1.atSeconds }.map { step in
                var drawn = step
                drawn.pick = random.next()
                return drawn
            }
        }
        guard !faults.isEmpty else { return [] }
        var steps: [NemesisStep] = []
        var at = startSeconds
        while at + durationSeconds < timeLimitSeconds {
            let fault = faults[Int(random.next() % UInt64(faults.count))]
            let target = targets[Int(random.next() % UInt64(targets.count))]
            let key = Int(random.next() % UInt64(max(1, keys)))
            var step = NemesisStep(atSeconds: at, fault: fault, target: target, key: key, pick: random.next(),
                                   lossPercent: lossPercent)
            if fault == .bumpClock || fault == .strobeClock {
                // 1 to clockBumpSeconds seconds, forward or back.
                let magnitude = 1 + Int(random.next() % UInt64(clockBumpSeconds))
                step.clockOffsetSeconds = random.next() % 2 == 0 ? magnitude : -magnitude
                step.strobePeriodMs = strobePeriodMs
            }
            if fault == .diskFault {
                step.disk = DiskFault(operation: diskOperations[Int(random.next() % UInt64(diskOperations.count))],
                                      error: diskErrors[Int(random.next() % UInt64(diskErrors.count))])
            }
            steps.append(step)
            steps.append(NemesisStep(atSeconds: at + durationSeconds, fault: fault.healing!, target: .sameAs(steps.count - 1),
                                     key: key, pick: 0))
            // Jittered by up to half the interval either way, so faults do not beat in step with anything periodic.
            let jitter = Double(random.next() % 1_000) / 1_000 - 0.5
            at += durationSeconds + intervalSeconds * (1 + jitter)
        }
        return steps
    }
}
