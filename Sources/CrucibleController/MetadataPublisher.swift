import CrucibleProtocol
import NIOConcurrencyHelpers

/// Folds committed metadata into the current image and tells listeners (the broker's partitions, the
/// controller) about each new one. Every node runs one: it is how brokers learn what the controller decided.
///
/// Listeners see images one at a time and in log order, never an older one after a newer: a broker that
/// subscribes while commits arrive (a restarted node is unfenced exactly then) must not have its catch-up with
/// an image of a moment ago land after a commit that followed it, or a partition it was just made leader of
/// would go back to the state before, and stay there until the next change to that topic.
public final class MetadataPublisher: @unchecked Sendable {
    private let lock = NIOLock()
    /// Held while listeners run, so deliveries neither overlap nor overtake one another.
    private let delivery = NIOLock()
    private var image = MetadataImage()
    private var listeners: [@Sendable (MetadataImage, MetadataChanges) -> Void] = []

    public init() {}

    public var currentImage: MetadataImage { lock.withLock { image } }

    /// Subscribes `listener` and hands it the current image at once, as one step against commits: from then on
    /// it sees every new image, in order. A listener must not publish.
    public func subscribe(catchingUp listener: @escaping @Sendable (MetadataImage, MetadataChanges) -> Void) {
        delivery.withLock {
            let current = lock.withLock { () -> MetadataImage in
                listeners.append(listener)
                return image
            }
            listener(current, MetadataChanges(everything: true))
        }
    }

    /// Applies one commit; listeners run after the image is updated, outside the image lock (readers of
    /// `currentImage` never wait for them).
    public func publish(_ commit: MetadataCommit) {
        delivery.withLock {
            let (snapshot, changes, toCall) = lock.withLock {
                () -> (MetadataImage, MetadataChanges, [@Sendable (MetadataImage, MetadataChanges) -> Void]) in
                var changes = MetadataChanges()
                switch commit {
                case .records(let base, let records):
                    for (i, record) in records.enumerated() {
                        changes.note(record, in: image)
                        image.apply(record, offset: base + Int64(i))
                    }
                case .snapshot(let endOffset, let records):
                    changes.everything = true
                    image = MetadataImage()
                    for (i, record) in records.enumerated() {
                        image.apply(record, offset: endOffset - Int64(records.count) + Int64(i))
                    }
                }
                return (image, changes, listeners)
            }
            for listener in toCall { listener(snapshot, changes) }
        }
    }
}

/// Which parts of the image a commit touched, so listeners with thousands of partitions redo only those.
public struct MetadataChanges: Sendable {
    /// A snapshot replaced the image: treat everything as changed.
    public var everything = false
    public var topics = Set<String>()
    public var brokers = false

    public init(everything: Bool = false) {
        self.everything = everything
    }

    public func touches(topic: String) -> Bool { everything || topics.contains(topic) }

    mutating func note(_ record: any KafkaMetadataRecord, in image: MetadataImage) {
        switch record {
        case let topic as TopicRecord: topics.insert(topic.name)
        case let partition as PartitionRecord: image.topic(id: partition.topicId).map { _ = topics.insert($0.name) }
        case let change as PartitionChangeRecord: image.topic(id: change.topicId).map { _ = topics.insert($0.name) }
        case let config as ConfigRecord:
            // A broker config (throttle rates, log defaults) can matter to every partition.
            if config.resourceType == ConfigResourceType.broker { everything = true } else { topics.insert(config.resourceName) }
        case let remove as RemoveTopicRecord: image.topic(id: remove.topicId).map { _ = topics.insert($0.name) }
        case is RegisterBrokerRecord, is FenceBrokerRecord, is UnfenceBrokerRecord, is BrokerRegistrationChangeRecord:
            brokers = true
        default: break
        }
    }
}
