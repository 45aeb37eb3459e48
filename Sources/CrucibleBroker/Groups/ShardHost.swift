import Foundation
import Logging
import NIOCore

/// The coordinator shards of one internal topic (`__consumer_offsets`, `__transaction_state`) whose partitions
/// this node leads: a shard is loaded from its partition's log, off the loop, when leadership arrives in an
/// epoch, and dropped when it leaves. Shards are touched only on `loop`, so the pure state machines need no
/// locks; while one loads, requests for it are told to wait.
final class ShardHost<Shard>: @unchecked Sendable {
    enum Slot {
        case loading(epoch: Int32)
        case loaded(Shard, epoch: Int32)
    }

    /// Why a request cannot be served here.
    enum Unavailable: Error { case notCoordinator, loading }

    let loop: EventLoop
    let topic: String
    private let logger: Logger
    private var slots: [Int32: Slot] = [:]
    /// Reads a partition into a shard (off the loop); nil when it cannot be read.
    private let load: (Partition, Int32) -> Shard?
    /// Runs on the loop once a shard is installed (index, epoch), or as it is dropped (answers to what waits).
    private let installed: (Int32, Int32) -> Void
    private let dropped: (inout Shard, Int32) -> Void

    init(loop: EventLoop, topic: String, logger: Logger, load: @escaping (Partition, Int32) -> Shard?,
         installed: @escaping (Int32, Int32) -> Void, dropped: @escaping (inout Shard, Int32) -> Void) {
        self.loop = loop
        self.topic = topic
        self.logger = logger
        self.load = load
        self.installed = installed
        self.dropped = dropped
    }

    /// Called on every role change of one of the topic's partitions hosted here.
    func leadershipChanged(_ partition: Partition) {
        let leading = partition.isLeader, epoch = partition.leaderEpoch
        loop.execute {
            switch (self.slots[partition.index], leading) {
            case (.loaded(_, let current)?, true) where current == epoch, (.loading(let current)?, true) where current == epoch:
                return
            case (_, true):
                self.reload(partition, epoch: epoch)
            case (_, false):
                self.drop(partition.index)
            }
        }
    }

    /// Drops the partition's shard and loads it again from the log (on the loop).
    func reload(_ partition: Partition, epoch: Int32) {
        drop(partition.index)
        slots[partition.index] = .loading(epoch: epoch)
        DispatchQueue.global().async {
            let shard = self.load(partition, epoch)
            self.loop.execute { self.install(shard, index: partition.index, epoch: epoch) }
        }
    }

    private func install(_ loaded: Shard?, index: Int32, epoch: Int32) {
        guard case .loading(let current)? = slots[index], current == epoch else { return }
        guard let shard = loaded else {
            slots.removeValue(forKey: index)
            return
        }
        slots[index] = .loaded(shard, epoch: epoch)
        installed(index, epoch)
    }

    private func drop(_ index: Int32) {
        guard let slot = slots.removeValue(forKey: index) else { return }
        if case .loaded(var shard, _) = slot { dropped(&shard, index) }
    }

    /// Whether partition `index`'s shard is loaded in `epoch` (a write's outcome still belongs to it).
    func isLoaded(_ index: Int32, epoch: Int32) -> Bool {
        if case .loaded(_, let current)? = slots[index] { return current == epoch }
        return false
    }

    /// Changes the shard of partition `index` (on the loop); its epoch is passed along for the writes it asks for.
    func withShard<Result>(_ index: Int32, _ body: (inout Shard, Int32) -> Result) throws -> Result {
        switch slots[index] {
        case nil: throw Unavailable.notCoordinator
        case .loading?: throw Unavailable.loading
        case .loaded(var shard, let epoch)?:
            // Out of the table while it changes, so the change does not copy the shard (copy-on-write).
            slots[index] = .loading(epoch: epoch)
            let result = body(&shard, epoch)
            slots[index] = .loaded(shard, epoch: epoch)
            return result
        }
    }

    /// Changes every loaded shard in turn; what `body` returns for each (effects to deliver) comes back with its
    /// index and epoch, to be acted on once no shard is out of its slot.
    func forEachShard<Result>(_ body: (inout Shard, Int32) -> Result) -> [(result: Result, index: Int32, epoch: Int32)] {
        slots.keys.sorted().compactMap { index in
            try? withShard(index) { shard, epoch in (body(&shard, index), index, epoch) }
        }
    }

    /// Every loaded shard, in partition order, and whether any is still loading.
    func loadedShards() -> (shards: [Shard], loading: Bool) {
        var shards: [Shard] = []
        var loading = false
        for (_, slot) in slots.sorted(by: { $0.key < $1.key }) {
            switch slot {
            case .loaded(let shard, _): shards.append(shard)
            case .loading: loading = true
            }
        }
        return (shards, loading)
    }
}
