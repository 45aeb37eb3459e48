import CrucibleRdKafka
import CrucibleWorkload
import Foundation
import Histogram
import NIOConcurrencyHelpers

/// Failover as a benchmark: every `every` seconds of the test, SIGKILL the leader of the first topic's partition
/// 0 and time the gap from the kill to the first acknowledgement of a message sent to that partition after it,
/// and the latency spike (intended-time publish latency on that partition until five seconds after the gap);
/// then start the node again so the next kill finds a full cluster.
final class FailoverPhase: @unchecked Sendable {
    struct Figures: Codable, Sendable {
        var node: Int32
        var killedAtSeconds: Double
        /// Kill to first acknowledged write on the partition; nil when none came within a minute.
        var gapMs: Double?
        var spikeMaxMs: Double
        var spikeP99Ms: Double
        var newLeader: Int32?
        /// Whether the killed node was also the active controller: then a new one must be elected first, which is
        /// where the longest gaps come from. Nil when the cluster did not say.
        var wasController: Bool? = nil
    }

    private let fleet: Fleet
    private let cluster: BenchCluster
    private let topics: BenchTopics
    private let every: Double
    private let testSeconds: Double
    private let progress: BenchProgress
    private let label: String
    private let results = NIOLockedValueBox<[Figures]>([])
    private let stopping = NIOLockedValueBox(false)
    private let done = NIOLockedValueBox(false)

    init(fleet: Fleet, cluster: BenchCluster, topics: BenchTopics, every: Double, testSeconds: Double, progress: BenchProgress,
         label: String) {
        self.fleet = fleet
        self.cluster = cluster
        self.topics = topics
        self.every = every
        self.testSeconds = testSeconds
        self.progress = progress
        self.label = label
    }

    func start() { Thread { [self] in run() }.start() }

    /// Stops scheduling kills, waits for one in progress, and returns every failover measured.
    func finish() -> [Figures] {
        stopping.withLockedValue { $0 = true }
        while !done.withLockedValue({ $0 }) { usleep(20_000) }
        return results.withLockedValue { $0 }
    }

    private var watched: [BenchProducer] { fleet.producers.filter { $0.topic == topics.names[0] } }

    private func run() {
        defer { done.withLockedValue { $0 = true } }
        let start = Date()
        var next = start.addingTimeInterval(every)
        // A kill needs time to be measured before the test ends: the gap, plus the spike window.
        while next.timeIntervalSince(start) <= testSeconds - 5 {
            while Date() < next { if stopping.withLockedValue({ $0 }) { return }; usleep(20_000) }
            // A failover that outlasted its slot (no write for a minute) must not start another after the test.
            if stopping.withLockedValue({ $0 }) || Date().timeIntervalSince(start) > testSeconds - 5 { return }
            let figures = failover(start: start)
            results.withLockedValue { $0.append(figures) }
            next = next.addingTimeInterval(every)
        }
    }

    private func failover(start: Date) -> Figures {
        let bootstrap = cluster.bootstrapServers
        let found = try? topics.leaderAndController(topic: topics.names[0], partition: 0, bootstrap: bootstrap)
        guard let leader = found?.leader, leader >= 0 else {
            return Figures(node: -1, killedAtSeconds: Date().timeIntervalSince(start), gapMs: nil, spikeMaxMs: 0, spikeP99Ms: 0)
        }
        let killedAt = nowMicros()
        // Only messages sent once the process is gone count for the gap: one sent while the signal was on its way
        // could still be acknowledged by the old leader (a "gap" of a few ms).
        for producer in watched {
            producer.watch.withLockedValue { $0 = BenchProducer.AckWatch(partition: 0, since: .max, firstAck: nil, spike: LatencyHistograms.publish()) }
        }
        do { try cluster.kill(node: leader) } catch { progress.note("[\(label)] failover: \(error)") }
        let gone = nowMicros()
        for producer in watched { producer.watch.withLockedValue { $0?.since = gone } }
        let wasController = found.map { $0.controller >= 0 ? $0.controller == leader : nil } ?? nil
        progress.note("[\(label)] failover: killed node \(leader), leader of \(topics.names[0])-0"
                      + (wasController == true ? " and the active controller" : ""))
        let deadline = killedAt + 60_000_000
        var firstAck: Int64?
        while firstAck == nil && nowMicros() < deadline {
            firstAck = watched.compactMap { $0.watch.withLockedValue { $0?.firstAck } }.min()
            usleep(1_000)
        }
        // The spike: five more seconds of the partition's latencies after the gap.
        sleep(untilMicros: (firstAck ?? nowMicros()) + 5_000_000)
        var spike = LatencyHistograms.publish()
        for producer in watched {
            if let watch = producer.watch.withLockedValue({ let w = $0; $0 = nil; return w }) { spike.add(watch.spike) }
        }
        let newLeader = (try? topics.leader(topic: topics.names[0], partition: 0, bootstrap: bootstrap)) ?? nil
        do { try cluster.start(node: leader) } catch { progress.note("[\(label)] failover: restarting node \(leader): \(error)") }
        let gap = firstAck.map { Double($0 - killedAt) / 1_000 }
        progress.note("[\(label)] failover: first acknowledged write \(gap.map { String(format: "%.0f ms", $0) } ?? "never (60 s)") after the kill; new leader \(newLeader.map(String.init) ?? "none")")
        return Figures(node: leader, killedAtSeconds: Double(killedAt) / 1_000_000 - start.timeIntervalSince1970, gapMs: gap,
                       spikeMaxMs: Double(spike.max) / 1_000, spikeP99Ms: Double(spike.valueAtPercentile(99)) / 1_000,
                       newLeader: newLeader, wasController: wasController)
    }
}
