import CrucibleWorkload
import Foundation

/// A run's producers and consumers as OMB's Kafka driver makes them: `producersPerTopic` producers per topic,
/// and per topic `subscriptionsPerTopic` consumer groups of `consumerPerSubscription` consumers each.
final class Fleet {
    let producers: [BenchProducer]
    let consumers: [BenchConsumer]
    let subscriptionsPerTopic: Int
    let producersPerTopic: Int

    init(workload: Workload, driver: Driver, topics: [String], bootstrap: String, runId: String, warnings: inout [String]) throws {
        let payloads = try PayloadPool(workload: workload)
        var producers: [BenchProducer] = []
        var consumers: [BenchConsumer] = []
        // Consumers first, as OMB creates them, so their groups are forming while producers connect.
        for (t, topic) in topics.enumerated() {
            for s in 0..<workload.subscriptionsPerTopic {
                for _ in 0..<workload.consumerPerSubscription {
                    consumers.append(try BenchConsumer(id: consumers.count, group: "\(runId)-sub-\(t)-\(s)", topics: [topic],
                                                       bootstrap: bootstrap, driver: driver, warnings: &warnings))
                }
            }
        }
        for topic in topics {
            for _ in 0..<workload.producersPerTopic {
                producers.append(try BenchProducer(id: producers.count, topic: topic, bootstrap: bootstrap, driver: driver,
                                                   payloads: payloads, keys: workload.keyDistributor, warnings: &warnings))
            }
        }
        self.producers = producers
        self.consumers = consumers
        subscriptionsPerTopic = workload.subscriptionsPerTopic
        producersPerTopic = workload.producersPerTopic
        warnings = Array(Set(warnings)).sorted()  // one line per distinct warning, not one per client
        consumers.forEach { $0.start() }
        producers.forEach { $0.start() }
    }

    /// The workload's rate for the whole test, shared evenly by the producers.
    func setRate(_ total: Double) {
        producers.forEach { $0.setRate(total / Double(producers.count)) }
    }

    func pauseConsumers(_ pause: Bool) { consumers.forEach { $0.setPaused(pause) } }

    /// Waits until every subscription has received a probe from every producer of its topic (re-sending probes
    /// every two seconds, in case a consumer joined after the first ones went by). Names the laggards on timeout.
    func probe(timeout: Double) throws {
        guard !consumers.isEmpty else { return }
        let deadline = Date().addingTimeInterval(timeout)
        var nextProbe = Date()
        while true {
            if Date() >= nextProbe {
                producers.forEach { $0.sendProbe() }
                nextProbe = Date().addingTimeInterval(2)
            }
            let waiting = probeLaggards()
            if waiting.isEmpty { return }
            if Date() > deadline {
                throw BenchFailure("subscriptions \(waiting.prefix(5).joined(separator: ", ")) received no probe within \(Int(timeout)) s (are the consumers assigned partitions?)")
            }
            usleep(50_000)
        }
    }

    private func probeLaggards() -> [String] {
        var received: [String: Int] = [:]
        for consumer in consumers { received[consumer.subscription, default: 0] += consumer.probesReceived.withLockedValue { $0 } }
        return received.filter { $0.value < producersPerTopic }.keys.sorted()
    }

    var totals: Totals {
        var sum = Totals()
        for producer in producers {
            let t = producer.stats.snapshot
            sum.sent += t.sent
            sum.acknowledged += t.acknowledged
            sum.failed += t.failed
            sum.abandoned += t.abandoned
            sum.failedByCode.merge(t.failedByCode, uniquingKeysWith: +)
            sum.handedBytes += t.handedBytes
        }
        for consumer in consumers { sum.received += consumer.stats.snapshot.received }
        return sum
    }

    /// OMB's backlog: every subscription should receive every acknowledged message; what it has not is backlog.
    func backlog(_ totals: Totals) -> Int {
        guard subscriptionsPerTopic > 0 else { return 0 }
        return max(0, subscriptionsPerTopic * totals.acknowledged - totals.received)
    }

    func outstanding(_ totals: Totals) -> Int { max(0, totals.sent - totals.acknowledged - totals.failed - totals.abandoned) }

    /// Every client's period so far, merged, and new periods begun.
    func collect() -> (ProducerPeriod, ConsumerPeriod) {
        var produced = ProducerPeriod()
        var consumed = ConsumerPeriod()
        for producer in producers { produced.add(producer.stats.swap()) }
        for consumer in consumers { consumed.add(consumer.stats.swap()) }
        return (produced, consumed)
    }

    /// Stops every client at once, each on a thread of its own: one at a time, a hundred producers each waiting
    /// out its flush on a struggling cluster (or consumers each leaving a slow coordinator) took minutes.
    func stop(flushSeconds: Double) {
        let group = DispatchGroup()
        for producer in producers {
            group.enter()
            Thread { producer.stop(flushSeconds: flushSeconds); group.leave() }.start()
        }
        for consumer in consumers {
            group.enter()
            Thread { consumer.stop(); group.leave() }.start()
        }
        group.wait()
    }
}
