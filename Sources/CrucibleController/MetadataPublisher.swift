import CrucibleProtocol
import NIOConcurrencyHelpers

/// Folds committed metadata into the current image and tells listeners (the broker's partitions, the
/// controller) about each new one. Every node runs one: it is how brokers learn what the controller decided.
public final class MetadataPublisher: @unchecked Sendable {
    private let lock = NIOLock()
    private var image = MetadataImage()
    private var listeners: [@Sendable (MetadataImage) -> Void] = []

    public init() {}

    public var currentImage: MetadataImage { lock.withLock { image } }

    public func onChange(_ listener: @escaping @Sendable (MetadataImage) -> Void) {
        lock.withLock { listeners.append(listener) }
    }

    /// Applies one commit; listeners run after the image is updated, outside the lock.
    public func publish(_ commit: MetadataCommit) {
        let (snapshot, toCall) = lock.withLock { () -> (MetadataImage, [@Sendable (MetadataImage) -> Void]) in
            switch commit {
            case .records(let base, let records):
                for (i, record) in records.enumerated() { image.apply(record, offset: base + Int64(i)) }
            case .snapshot(let endOffset, let records):
                image = MetadataImage()
                for (i, record) in records.enumerated() {
                    image.apply(record, offset: endOffset - Int64(records.count) + Int64(i))
                }
            }
            return (image, listeners)
        }
        for listener in toCall { listener(snapshot) }
    }
}
