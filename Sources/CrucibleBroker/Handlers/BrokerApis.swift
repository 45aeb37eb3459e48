import CrucibleController
import CrucibleProtocol
import CrucibleRecords
import CrucibleStorage
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The request handlers, one file per API as extensions of this type. They share the node's state: its
/// config, the controller, the hosted partitions and the producer id block.
final class BrokerApis: @unchecked Sendable {
    let config: BrokerConfig
    let clusterId: String
    let controller: QuorumController
    let replicas: ReplicaManager
    let groups: GroupCoordinator
    /// Set once the node runs its transaction coordinator (after this, which it writes markers through).
    var transactions: TransactionCoordinator?
    /// KIP-890's check of a producer's first transactional write to a partition, with its coordinator.
    var verifier: TxnVerifier?
    let producerIds: ProducerIdAllocator
    let validator: BatchValidator
    /// Set in a cluster: where decisions go when this node is not the active controller.
    let forwarding: ControllerForwarding?
    let followerReads = FollowerReads()
    let authorizerCache = AuthorizerCache(nil)
    let metrics: BrokerMetrics
    let logger: Logger

    init(config: BrokerConfig, clusterId: String, controller: QuorumController, replicas: ReplicaManager,
         groups: GroupCoordinator, forwarding: ControllerForwarding?, logger: Logger, metrics: BrokerMetrics = BrokerMetrics()) {
        self.metrics = metrics
        self.groups = groups
        self.forwarding = forwarding
        self.config = config
        self.clusterId = clusterId
        self.controller = controller
        self.replicas = replicas
        self.producerIds = ProducerIdAllocator(controller: controller, nodeId: config.nodeId)
        // Kafka checks each batch against the topic's max.message.bytes; the broker-wide cap is the largest
        // any topic may set, and the per-topic limit is applied in produce.
        self.validator = BatchValidator(maxBatchBytes: Int(Int32.max))
        self.logger = logger
    }

    var nodeId: Int32 { config.nodeId }

    /// The client listener's APIs. Produce and Fetch start at v0, as in Kafka 3.x (4.0 starts at 3 and 4): their
    /// message sets (magic 0 and 1) are converted to and from the magic-2 batches the log stores, and librdkafka
    /// 2.0 (Debian's) compresses with gzip, snappy or lz4 only for a broker that serves Produce v0.
    func table() -> ApiTable {
        var table = ApiTable()
        table.serve(ProduceRequest.self, versions: 0...10, produce)
        table.serve(FetchRequest.self, versions: 0...16, fetch)
        table.serve(ListOffsetsRequest.self, versions: 0...7, listOffsets)
        table.serve(MetadataRequest.self, versions: 0...12, metadata)
        table.serve(DescribeConfigsRequest.self, versions: 0...4, describeConfigs)
        serveControllerDecisions(in: &table, forwarding: nil)
        table.serve(FindCoordinatorRequest.self, versions: 0...6, findCoordinator)
        table.serve(JoinGroupRequest.self, versions: 0...9, joinGroup)
        table.serve(SyncGroupRequest.self, versions: 0...5, syncGroup)
        table.serve(HeartbeatRequest.self, versions: 0...4, heartbeat)
        table.serve(LeaveGroupRequest.self, versions: 0...5, leaveGroup)
        table.serve(OffsetCommitRequest.self, versions: 0...9, offsetCommit)
        table.serve(OffsetFetchRequest.self, versions: 0...9, offsetFetch)
        table.serve(DescribeGroupsRequest.self, versions: 0...5, describeGroups)
        table.serve(ListGroupsRequest.self, versions: 0...5, listGroups)
        table.serve(DeleteGroupsRequest.self, versions: 0...2, deleteGroups)
        table.serve(OffsetDeleteRequest.self, versions: 0...0, offsetDelete)
        table.serve(OffsetForLeaderEpochRequest.self, versions: 0...4, offsetForLeaderEpoch)
        table.serve(DeleteRecordsRequest.self, versions: 0...2, deleteRecords)
        table.serve(DescribeLogDirsRequest.self, versions: 0...4, describeLogDirs)
        table.serve(DescribeProducersRequest.self, versions: 0...0, describeProducers)
        table.serve(WriteTxnMarkersRequest.self, versions: 0...1, writeTxnMarkers)
        table.serve(AddPartitionsToTxnRequest.self, versions: 0...5, addPartitionsToTxn)
        table.serve(AddOffsetsToTxnRequest.self, versions: 0...3, addOffsetsToTxn)
        table.serve(EndTxnRequest.self, versions: 0...3, endTxn)
        table.serve(TxnOffsetCommitRequest.self, versions: 0...3, txnOffsetCommit)
        table.serve(DescribeTransactionsRequest.self, versions: 0...0, describeTransactions)
        table.serve(ListTransactionsRequest.self, versions: 0...1, listTransactions)
        table.serve(DescribeClusterRequest.self, versions: 0...1, describeCluster)
        table.serve(ListPartitionReassignmentsRequest.self, versions: 0...0, listPartitionReassignments)
        serveSecurity(in: &table)
        return table
    }

    /// Auto-creates topics (Metadata with allow_auto_topic_creation, `auto.create.topics.enable=true`). A node
    /// that is not the active controller sends a CreateTopics to it, as Kafka's brokers do; failures leave the
    /// topics missing, which the caller reports as retriable.
    func autoCreate(_ names: [String]) -> EventLoopFuture<Void> {
        guard config.autoCreateTopicsEnable, !names.isEmpty else { return controllerLoop.makeSucceededVoidFuture() }
        guard let forwarding, !controller.isActive else {
            return controller.createTopics(names.map { TopicCreation(name: $0) }, validateOnly: false)
                .map { _ in }
                .recover { error in self.logger.warning("auto-creating \(names) failed: \(error)") }
        }
        var request = CreateTopicsRequest()
        request.timeoutMs = 30_000
        request.topics = names.map { name in
            var topic = CreateTopicsRequest.CreatableTopic()
            topic.name = name
            topic.numPartitions = config.numPartitions
            topic.replicationFactor = config.defaultReplicationFactor
            return topic
        }
        return forwarding.forward(request, version: 7, refusal: ControllerRefusal.createTopics)
            .flatMap { response in
                let created = response.topics.filter { $0.errorCode == 0 }.map(\.name)
                for topic in response.topics where topic.errorCode != 0 && topic.errorCode != ErrorCode.topicAlreadyExists.rawValue {
                    self.logger.warning("auto-creating \(topic.name) failed: \(ErrorCode(rawValue: topic.errorCode).name)")
                }
                return self.awaitTopics(created)
            }
    }

    /// Waits (briefly) until this node's image knows `names`, so the answer to the Metadata request that
    /// created them can already describe them.
    private func awaitTopics(_ names: [String], attempts: Int = 50) -> EventLoopFuture<Void> {
        let loop = controllerLoop
        guard attempts > 0, names.contains(where: { controller.currentImage.topic(named: $0) == nil }) else {
            return loop.makeSucceededVoidFuture()
        }
        return loop.scheduleTask(in: .milliseconds(20)) {}.futureResult
            .flatMap { self.awaitTopics(names, attempts: attempts - 1) }
    }

    var controllerLoop: EventLoop { controller.eventLoopForCallbacks }
}

/// Hands out producer ids from blocks the controller reserves, so ids stay unique across restarts.
final class ProducerIdAllocator: @unchecked Sendable {
    private let lock = NIOLock()
    private let controller: QuorumController
    private let nodeId: Int32
    private var block: ClosedRange<Int64>?
    private var next: Int64 = 0

    init(controller: QuorumController, nodeId: Int32) {
        self.controller = controller
        self.nodeId = nodeId
    }

    func allocate(on eventLoop: EventLoop) -> EventLoopFuture<Int64> {
        if let id = takeFromBlock() { return eventLoop.makeSucceededFuture(id) }
        return controller.allocateProducerIds(brokerId: nodeId).hop(to: eventLoop).flatMapThrowing { block in
            self.lock.withLock {
                if self.block == nil || self.next > self.block!.upperBound {
                    self.block = block
                    self.next = block.lowerBound
                }
            }
            guard let id = self.takeFromBlock() else { throw NotControllerError(leaderId: nil) }
            return id
        }
    }

    private func takeFromBlock() -> Int64? {
        lock.withLock {
            guard let block, next <= block.upperBound else { return nil }
            defer { next += 1 }
            return next
        }
    }
}
