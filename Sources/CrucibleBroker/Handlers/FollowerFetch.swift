import CrucibleController
import CrucibleProtocol
import Logging
import NIOConcurrencyHelpers

/// Fetching from the closest replica (KIP-392). With `replica.selector.class` set to Kafka's
/// RackAwareReplicaSelector, a leader sends a consumer that names its rack (`client.rack`) to a replica in that
/// rack: the leader itself when it is there, else the in-sync follower there that holds the most, which then
/// serves it up to its own high watermark.
extension BrokerApis {
    func preferredReadReplica(_ partition: Partition, clientRack: String, fetchOffset: Int64) -> Int32? {
        guard config.rackAwareFetching else { return nil }
        let image = controller.currentImage
        if image.brokers[nodeId]?.rack == clientRack { return nil }
        let inRack = partition.readReplicaCandidates(fetchOffset: fetchOffset, nowMs: Clock.nowMs(),
                                                     lagMaxMs: config.replicaLagTimeMaxMs)
            .filter { candidate in
                guard let broker = image.brokers[candidate.id] else { return false }
                return !broker.fenced && broker.rack == clientRack
            }
        let best = inRack.max { a, b in
            a.logEnd != b.logEnd ? a.logEnd < b.logEnd : a.lastCaughtUpMs < b.lastCaughtUpMs
        }
        return best?.id
    }
}

/// Remembers which partitions this node has served to consumers as a follower, so the log says so once per
/// partition and rack rather than on every fetch.
final class FollowerReads: @unchecked Sendable {
    private let lock = NIOLock()
    private struct Key: Hashable {
        var topic: String
        var partition: Int32
        var rack: String
    }
    private var seen = Set<Key>()

    /// Called on every fetch a follower serves: a set lookup, no formatting until the first time.
    func noteFirst(_ partition: Partition, rack: String, logger: Logger) {
        let key = Key(topic: partition.topic, partition: partition.index, rack: rack)
        guard lock.withLock({ seen.insert(key).inserted }) else { return }
        let image = partition.image
        let what = "served fetch from follower for \(partition.topic)-\(partition.index) to a consumer in rack '\(rack)'"
        logger.info("\(what) (leader \(image.leader) in epoch \(image.leaderEpoch))")
    }
}
