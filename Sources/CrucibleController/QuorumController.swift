import CrucibleProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The active controller's decisions. Each command reads the current image, turns the request into metadata
/// records (`ControllerCommands`), proposes them to the quorum and answers once they are committed and applied,
/// so nobody ever sees a decision that is not durable. Commands run one at a time: the next one reads an image
/// that already holds the previous one's records. On a node that is not the active controller every command
/// fails with `NotControllerError`, and the broker forwards the request instead.
public final class QuorumController: @unchecked Sendable {
    public let quorum: MetadataQuorum
    public let publisher: MetadataPublisher
    let policy: ControllerPolicy
    private let eventLoop: EventLoop
    let logger: Logger
    private let lock = NIOLock()
    private var tail: EventLoopFuture<Void>
    public static let producerIdBlockSize: Int64 = 1000
    /// When each broker last heartbeat (active controller only).
    let lastHeartbeats = NIOLockedValueBox<[Int32: Int64]>([:])
    /// Brokers that asked for a controlled shutdown and have not registered again (active controller only).
    let shuttingDown = NIOLockedValueBox<Set<Int32>>([])
    /// When each broker's heartbeat connection last closed (active controller only).
    let lastConnectionLoss = NIOLockedValueBox<[Int32: Int64]>([:])
    /// Whether `unclean.leader.election.enable` holds for a topic: its override, else the cluster-wide dynamic
    /// default (`configs --entity-type brokers --entity-default`), else the controller's `server.properties`.
    let uncleanAllowed: @Sendable (MetadataImage, String) -> Bool

    /// Told of each batch this controller decided, once committed: its records, the image they were decided on
    /// and how long the command took from being queued (Kafka's ControllerStats). Set before the node serves.
    public var onCommitted: (@Sendable (_ records: [any KafkaMetadataRecord], _ before: MetadataImage, _ tookMs: Double) -> Void)?

    public init(quorum: MetadataQuorum, publisher: MetadataPublisher, policy: ControllerPolicy, eventLoop: EventLoop,
                logger: Logger = Logger(label: "crucible.controller")) {
        self.uncleanAllowed = { image, topic in
            (image.topic(named: topic)?.configs["unclean.leader.election.enable"]
                ?? image.brokerConfigs[""]?["unclean.leader.election.enable"]).map { $0 == "true" }
                ?? policy.uncleanLeaderElectionDefault
        }
        self.quorum = quorum
        self.publisher = publisher
        self.policy = policy
        self.eventLoop = eventLoop
        self.logger = logger
        tail = eventLoop.makeSucceededVoidFuture()
    }

    public var currentImage: MetadataImage { publisher.currentImage }
    public var isActive: Bool { quorum.leaderId == quorum.nodeId }

    /// Runs `decide` on the current image after every earlier command has finished, commits what it returns and
    /// answers with its result.
    func command<Result>(_ name: String,
                                 _ decide: @escaping (MetadataImage) throws -> ([any KafkaMetadataRecord], Result))
        -> EventLoopFuture<Result> {
        let promise = eventLoop.makePromise(of: Result.self)
        let queuedAt = NIODeadline.now()
        promise.futureResult.whenComplete { [logger] _ in
            let tookMs = (NIODeadline.now() - queuedAt).nanoseconds / 1_000_000
            if tookMs > 1_000 { logger.warning("controller command \(name) took \(tookMs) ms") }
        }
        lock.withLock {
            let previous = tail
            tail = promise.futureResult.map { _ in }.recover { _ in }
            previous.whenComplete { _ in
                guard self.isActive else {
                    return promise.fail(NotControllerError(leaderId: self.quorum.leaderId))
                }
                do {
                    let image = self.publisher.currentImage
                    let (decided, result) = try decide(image)
                    let records = image.features[MetadataBootstrap.metadataVersionFeature] == nil
                        ? MetadataBootstrap.records(self.policy.bootstrapRecords) + decided : decided
                    guard !records.isEmpty else { return promise.succeed(result) }
                    self.quorum.propose(records).map { _ in
                        self.onCommitted?(decided, image, Double((NIODeadline.now() - queuedAt).nanoseconds) / 1_000_000)
                        return result
                    }.cascade(to: promise)
                } catch {
                    self.logger.error("controller command \(name) failed: \(error)")
                    promise.fail(error)
                }
            }
        }
        return promise.futureResult
    }

    public func registerBroker(id: Int32, endpoints: [BrokerEndpointImage], rack: String? = nil, incarnation: KafkaUUID)
        -> EventLoopFuture<Int64> {
        shuttingDown.withLockedValue { _ = $0.remove(id) }
        return command("registerBroker") { [uncleanAllowed] image in
            ControllerCommands.registerBroker(id: id, endpoints: endpoints, rack: rack, incarnation: incarnation,
                                              image: image, uncleanAllowed: { uncleanAllowed(image, $0) })
        }
    }

    public func createTopics(_ requests: [TopicCreation], validateOnly: Bool) -> EventLoopFuture<[TopicCreationResult]> {
        command("createTopics") { [policy] image in
            let (records, results) = ControllerCommands.createTopics(requests, image: image, policy: policy)
            return (validateOnly ? [] : records, results)
        }
    }

    public func deleteTopics(_ names: [String]) -> EventLoopFuture<[String: ErrorCode]> {
        command("deleteTopics") { image in ControllerCommands.deleteTopics(names, image: image) }
    }

    public func alterTopicConfigs(_ topic: String, _ changes: [(key: String, value: String?)],
                                  validateOnly: Bool) -> EventLoopFuture<(ErrorCode, String?)> {
        command("alterTopicConfigs") { [policy] image in
            let (records, result) = ControllerCommands.alterTopicConfigs(topic, changes, image: image, policy: policy)
            return (validateOnly ? [] : records, result)
        }
    }

    /// Reserves a block of producer ids for a broker (AllocateProducerIds).
    public func allocateProducerIds(brokerId: Int32) -> EventLoopFuture<ClosedRange<Int64>> {
        command("allocateProducerIds") { image in
            ControllerCommands.allocateProducerIds(brokerId: brokerId, blockSize: Self.producerIdBlockSize, image: image)
        }
    }
}

extension QuorumController {
    /// The loop command futures complete on; callers hop to their own.
    public var eventLoopForCallbacks: EventLoop { eventLoop }
}

extension QuorumController {
    public func alterPartition(topicId: KafkaUUID, partition: Int32, leaderId: Int32, leaderEpoch: Int32,
                               partitionEpoch: Int32, isr: [Int32]) -> EventLoopFuture<ErrorCode> {
        command("alterPartition") { image in
            ControllerCommands.alterPartition(topicId: topicId, partition: partition, leaderId: leaderId,
                                              leaderEpoch: leaderEpoch, partitionEpoch: partitionEpoch, isr: isr,
                                              shuttingDown: self.shuttingDown.withLockedValue { $0 }, image: image)
        }
    }
}
