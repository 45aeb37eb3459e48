import CrucibleController
import CrucibleMetrics
import CrucibleMutations
import CrucibleProtocol
import CrucibleStorage
import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

public struct BrokerStartError: Error, CustomStringConvertible {
    public let description: String
}

/// One node: storage, the controller, the partitions it hosts and the network front. `start` opens everything
/// (recovering logs after a crash) and binds the listeners; `shutdown` is the clean SIGTERM path.
public final class Broker: @unchecked Sendable {
    public let config: BrokerConfig
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    /// The control plane's own thread, as Kafka gives its controller its own network and handler threads: the
    /// controller listener (quorum votes and fetches, broker heartbeats), the controller's commands and this
    /// node's heartbeats. On the client loops, behind hundreds of busy client connections, they waited seconds:
    /// brokers were fenced and the quorum went minutes without a leader, candidates' votes arriving too late.
    private let controlGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channels: [Channel] = []
    private let channelsLock = NIOLock()
    private let connections = ConnectionRegistry()
    private var logs: LogManager!
    private var controller: QuorumController!
    private var quorum: MetadataQuorum?
    private var lifecycle: BrokerLifecycle?
    /// Set in a cluster (a Raft quorum): forwarding to the active controller.
    private var forwarding: ControllerForwarding?
    private var replicas: ReplicaManager!
    private var groupCoordinator: GroupCoordinator?
    private var transactionCoordinator: TransactionCoordinator?
    private var timers: [RepeatedTask] = []
    private let stopped = NIOLockedValueBox(false)
    /// `/metrics` (`crucible.metrics.port`).
    let metrics = BrokerMetrics()
    private var metricsServer: MetricsServer?

    public init(config: BrokerConfig, logger: Logger) {
        self.config = config
        self.logger = logger
        let threads = config.numIoThreads > 0 ? config.numIoThreads : System.coreCount
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    }

    /// Formats the directories for a single-node cluster when they are not formatted (`--standalone`).
    /// Every directory gets the same cluster id: that of one already formatted, else a new one.
    public static func formatIfNeeded(_ config: BrokerConfig) throws {
        let directories = Set(config.logDirs + [config.metadataDirectory]).sorted()
        let existing = try directories.compactMap { try MetaProperties.read(from: $0) }
        let clusterId = existing.first?.clusterId ?? ClusterId.random()
        for directory in directories where try MetaProperties.read(from: directory) == nil {
            try MetaProperties(clusterId: clusterId, nodeId: config.nodeId, directoryId: KafkaUUID.random().description)
                .write(to: directory)
        }
    }

    /// Writes meta.properties for `clusterId` into every directory of `config` (as `storage format`).
    public static func format(_ config: BrokerConfig, clusterId: String) throws {
        for directory in Set(config.logDirs + [config.metadataDirectory]) {
            try MetaProperties(clusterId: clusterId, nodeId: config.nodeId, directoryId: KafkaUUID.random().description)
                .write(to: directory)
        }
    }

    public func start() throws {
        let clusterId = try checkFormatted()
        let nowMs = Clock.nowMs()
        logs = try LogManager(directory: config.dataDirectory, logger: logger,
                              flushObserver: { [metrics] in metrics.logFlushed(milliseconds: $0) })
        var policy = ControllerPolicy()
        policy.defaultPartitions = config.numPartitions
        policy.defaultReplicationFactor = config.defaultReplicationFactor
        policy.uncleanLeaderElectionDefault = config.uncleanLeaderElectionEnable
        policy.validateTopicConfig = { key, value in try TopicConfigCatalog.validate(key: key, value: value) }
        policy.validateBrokerConfig = { key, value in try DynamicBrokerConfig.validate(key: key, value: value) }
        policy.bootstrapRecords = try MetadataBootstrap.read(from: config.metadataDirectory)
        let controllerLoop = controlGroup.next()
        let quorum = try Self.makeQuorum(config: config, clusterId: clusterId, eventLoop: controllerLoop, nowMs: nowMs,
                                         logger: logger)
        let publisher = MetadataPublisher()
        try quorum.start { commit in publisher.publish(commit) }
        self.quorum = quorum
        controller = QuorumController(quorum: quorum, publisher: publisher, policy: policy, eventLoop: controllerLoop,
                                      logger: logger)
        controller.onCommitted = { [metrics] records, before, tookMs in
            metrics.controllerCommitted(records, before: before, tookMs: tookMs)
        }
        replicas = ReplicaManager(nodeId: config.nodeId, logs: logs, config: config, group: group, logger: logger)
        let raft = quorum as? RaftMetadataQuorum
        if raft != nil {
            let connections = ControllerConnections(eventLoop: controllerLoop, clientId: "forward-\(config.nodeId)",
                                                    localId: config.nodeId, addresses: config.voterAddresses,
                                                    security: config.security.controllerClient)
            forwarding = ControllerForwarding(controller: controller, connections: connections)
        }
        let voters = Dictionary(config.controllerQuorumVoters.map { ($0.id, (host: $0.host, port: $0.port)) },
                                uniquingKeysWith: { first, _ in first })
        // Heartbeats on a connection of their own, as Kafka's lifecycle manager has: behind a queue of ISR changes
        // on a busy controller they arrived late enough to get a live broker fenced.
        let channel = ActiveControllerChannel(local: controller, voters: voters, group: controlGroup, nodeId: config.nodeId,
                                              logger: logger, security: config.security.controllerClient)
        replicas.controllerChannel = ActiveControllerChannel(local: controller, voters: voters, group: group,
                                                             nodeId: config.nodeId, logger: logger,
                                                             security: config.security.controllerClient)
        let groupCoordinator = GroupCoordinator(loop: group.next(), replicas: replicas, config: config.groups, logger: logger)
        groupCoordinator.start()
        self.groupCoordinator = groupCoordinator
        let apis = BrokerApis(config: config, clusterId: clusterId, controller: controller, replicas: replicas,
                              groups: groupCoordinator, forwarding: forwarding, logger: logger, metrics: metrics)
        metrics.collectState(replicas: replicas, controller: controller, groups: groupCoordinator)

        replicas.onIsrChange = { [metrics] shrunk in metrics.isrChanged(shrunk: shrunk) }
        if let port = config.metricsPort {
            metricsServer = try MetricsServer(host: config.metricsHost, port: port, metrics: metrics.registry, group: controlGroup)
        }
        let transactionCoordinator = makeTransactionCoordinator(apis: apis, replicas: replicas, controller: controller)
        apis.transactions = transactionCoordinator
        replicas.onInternalLeadership = { partition in
            if partition.topic == OffsetsTopicLog.topic { groupCoordinator.leadershipChanged(partition) }
            else { transactionCoordinator.leadershipChanged(partition) }
        }
        let table = apis.clientTable(forwarding: forwarding)
        if let raft {
            let controllerTable = apis.controllerTable(quorum: raft)
            for listener in config.controllerListeners {
                channels.append(try bind(listener, table: controllerTable, on: controlGroup))
            }
        }
        // Partitions take their roles, and clients are served, only once this broker is unfenced, which the
        // controller allows after it has caught up with the metadata log: a restarted node never leads from a
        // stale image, and never answers a client from an image older than the one it served before (Kafka
        // opens its client listeners at the same point).
        let unfenced = startLifecycle(channel: channel, waitForFirstHeartbeat: raft == nil)
        if raft == nil {
            activate(replicas, publisher)  // a single node is caught up by definition, and serves at once
            for listener in config.clientListeners { channels.append(try bind(listener, table: table, on: group)) }
        } else {
            // Listening first: once partitions take roles this node may be counted in an ISR or lead, and clients
            // told so must find it serving.
            unfenced.whenSuccess { [replicas] in
                self.bindClientListenersInBackground(table: table) { self.activate(replicas!, publisher) }
            }
        }
        scheduleHousekeeping()
        // Each listener with its security protocol, as an operator checking a TLS or SASL setup looks for it.
        let listening = config.listeners.map { "\($0.name)://\($0.host):\($0.port) (\(config.security.securityProtocol(of: $0.name).rawValue))" }
        let metricsAt = metricsServer.map { "; metrics on http://\(config.metricsHost):\($0.port)/metrics" } ?? ""
        logger.info("node \(config.nodeId) started in cluster \(clusterId); listeners \(listening.joined(separator: ", "))\(metricsAt)")
        if let mutation = Mutation.active {
            logger.warning("node \(config.nodeId) runs with the planted bug \(mutation.rawValue): \(mutation.summary)")
        }
    }

    /// Binding blocks, which an event loop must not: a thread of its own does it. A port taken by now is as
    /// fatal as at start, and reported the same way.
    private func bindClientListenersInBackground(table: ApiTable, then: @escaping @Sendable () -> Void) {
        DispatchQueue.global().async { [self] in
            guard !stopped.withLockedValue({ $0 }) else { return }
            do {
                for listener in config.clientListeners {
                    let channel = try bind(listener, table: table, on: group)
                    channelsLock.withLock { channels.append(channel) }
                }
                logger.info("node \(config.nodeId) serving clients on \(config.clientListeners.map { "\($0.host):\($0.port)" })")
                then()
            } catch {
                logger.critical("cannot bind the client listeners: \(error)")
                exit(1)
            }
        }
    }

    /// The transaction coordinator, whose markers reach partition leaders through the metadata image's
    /// addresses, and this node's own partitions in-process.
    private func makeTransactionCoordinator(apis: BrokerApis, replicas: ReplicaManager,
                                            controller: QuorumController) -> TransactionCoordinator {
        let config = self.config
        let connections = BrokerConnectionPool(nodeId: config.nodeId, group: group, clientId: "txn",
                                               security: config.security.interBrokerClient)
        let markers = TxnMarkerSender(nodeId: config.nodeId, connections: connections, leaderOf: { key in
            let image = controller.currentImage
            guard let leader = image.topic(named: key.topic)?.partitions[key.partition]?.leader, leader >= 0,
                  let endpoint = image.brokers[leader].flatMap(config.interBrokerEndpoint)
            else { return nil }
            return (leader, endpoint.host, Int(endpoint.port))
        }, topicExists: { controller.currentImage.topic(named: $0) != nil },
           writeLocally: { [weak apis] request, loop in
            apis?.writeMarkers(request, nowMs: Clock.nowMs(), on: loop) ?? loop.makeSucceededFuture(WriteTxnMarkersResponse())
        }, logger: logger)
        let coordinator = TransactionCoordinator(loop: group.next(), replicas: replicas, config: config.transactions,
                                                 markers: markers, logger: logger)
        apis.verifier = TxnVerifier(nodeId: config.nodeId, connections: connections, coordinatorOf: { transactionalId in
            let image = controller.currentImage
            guard let topic = image.topic(named: TransactionStateLog.topic) else { return nil }
            let index = TransactionStateLog.partition(for: transactionalId, partitions: Int32(topic.partitions.count))
            guard let leader = topic.partitions[index]?.leader, leader >= 0,
                  let endpoint = image.brokers[leader].flatMap(config.interBrokerEndpoint)
            else { return nil }
            return (leader, endpoint.host, Int(endpoint.port))
        }, local: { [weak apis] transactionalId, producerId, epoch, partition, loop in
            guard let apis, let transactions = apis.transactions, let partitions = apis.transactionStatePartitions else {
                return loop.makeSucceededFuture(.coordinatorNotAvailable)
            }
            return transactions.query(transactionalId, partitions: partitions, on: loop) { shard in
                shard.verify(transactionalId, producerId: producerId, epoch: epoch, partitions: [partition],
                             notInTransaction: .invalidTxnState)[partition] ?? .invalidTxnState
            }.recover { _ in .notCoordinator }
        }, logger: logger)
        coordinator.start()
        transactionCoordinator = coordinator
        return coordinator
    }

    /// Registers and heartbeats through `channel`. A single node waits (bounded) for its first heartbeat so it
    /// serves unfenced from its first request; a cluster node cannot, as the quorum may not have a leader yet.
    private func activate(_ replicas: ReplicaManager, _ publisher: MetadataPublisher) {
        // Now caught up with the metadata (the controller unfenced us only then): a log on disk the image does
        // not know belongs to a topic deleted while this node was away.
        replicas.removeOrphanLogs(publisher.currentImage)
        // Catching up and subscribing are one step against commits, so no commit is missed and none overtaken.
        publisher.subscribe(catchingUp: { image, changes in replicas.apply(image, changes: changes, nowMs: Clock.nowMs()) })
        logger.info("unfenced: partitions take their roles")
    }

    @discardableResult
    private func startLifecycle(channel: ControllerChannel, waitForFirstHeartbeat: Bool) -> EventLoopFuture<Void> {
        let endpoints = config.advertisedClientListeners.map {
            BrokerEndpointImage(name: $0.name, host: $0.host.isEmpty ? "localhost" : $0.host, port: Int32($0.port))
        }
        let lifecycle = BrokerLifecycle(nodeId: config.nodeId, endpoints: endpoints, rack: config.brokerRack, channel: channel,
                                        eventLoop: controlGroup.next(), intervalMs: config.brokerHeartbeatIntervalMs,
                                        logger: logger)
        self.lifecycle = lifecycle
        let first = lifecycle.start()
        guard waitForFirstHeartbeat else { return first }
        let waited = group.next().makePromise(of: Void.self)
        first.cascade(to: waited)
        group.next().scheduleTask(in: .seconds(10)) { waited.succeed(()) }
        _ = try? waited.futureResult.wait()
        return first
    }

    private func checkFormatted() throws -> String {
        var clusterIds = Set<String>()
        for directory in Set(config.logDirs + [config.metadataDirectory]) {
            guard let meta = try MetaProperties.read(from: directory) else {
                throw BrokerStartError(description: "log directory \(directory) is not formatted: run `crucible storage format --config FILE --cluster-id ID` (or start with --standalone)")
            }
            guard meta.nodeId == config.nodeId else {
                throw BrokerStartError(description: "\(directory) was formatted for node.id \(meta.nodeId), not \(config.nodeId)")
            }
            clusterIds.insert(meta.clusterId)
        }
        guard clusterIds.count == 1 else {
            throw BrokerStartError(description: "log directories belong to different clusters: \(clusterIds.sorted())")
        }
        return clusterIds.first!
    }

    private func bind(_ listener: Listener, table: ApiTable, on group: MultiThreadedEventLoopGroup) throws -> Channel {
        let maxFrame = config.socketRequestMaxBytes
        let logger = self.logger
        let connections = self.connections
        let settings = config.security.serverSettings(for: listener.name)
        let reauthMs = config.security.connectionsMaxReauthMs
        let controller = self.controller!
        let controllerListener = config.controllerListenerNames.contains(listener.name)
        let metrics = self.metrics
        return try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(
                minimum: 4096, initial: 65536, maximum: 1 << 20))
            .childChannelInitializer { channel in
                connections.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls = settings.tls {
                        try pipeline.addHandler(NIOSSLServerHandler(context: tls))
                        try pipeline.addHandler(FileRegionReader())
                    }
                    try pipeline.addHandler(ByteToMessageHandler(KafkaFrameDecoder(maxFrameBytes: maxFrame)))
                    let sasl = settings.securityProtocol.usesSASL
                        ? SaslGate(mechanisms: settings.mechanisms, plainUsers: settings.plainUsers, reauthMs: reauthMs,
                                   scram: { user, mechanism in controller.currentImage.scramCredentials[user]?[mechanism] })
                        : nil
                    try pipeline.addHandler(ConnectionHandler(router: RequestRouter(table: table), logger: logger,
                                                              listenerName: listener.name, sasl: sasl,
                                                              authorize: !controllerListener,
                                                              principalMapper: settings.principalMapper,
                                                              metrics: metrics))
                }
            }
            .bind(host: listener.host.isEmpty ? "0.0.0.0" : listener.host, port: listener.port).wait()
    }

    private func scheduleHousekeeping() {
        let loop = group.next()
        let retentionMs = config.logRetentionCheckIntervalMs
        timers.append(loop.scheduleRepeatedTask(initialDelay: .milliseconds(retentionMs), delay: .milliseconds(retentionMs)) {
            [replicas] _ in replicas!.runRetention(nowMs: Clock.nowMs())
        })
        if config.logCleanerEnable { timers.append(LogCleanerService(replicas: replicas!, config: config, logger: logger).schedule(on: loop)) }
        timers.append(loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [replicas] _ in
            replicas!.flushDue(nowMs: Clock.nowMs())
        })
        let isrCheckMs = max(1, config.replicaLagTimeMaxMs / 2)
        timers.append(loop.scheduleRepeatedTask(initialDelay: .milliseconds(isrCheckMs), delay: .milliseconds(isrCheckMs)) {
            [replicas] _ in replicas!.shrinkLaggingIsrs(nowMs: Clock.nowMs())
        })
        if config.autoLeaderRebalanceEnable {
            let rebalanceMs = config.leaderImbalanceCheckIntervalSeconds * 1000
            let percentage = config.leaderImbalancePerBrokerPercentage
            timers.append(loop.scheduleRepeatedTask(initialDelay: .milliseconds(rebalanceMs), delay: .milliseconds(rebalanceMs)) {
                [controller] _ in controller!.rebalancePreferredLeaders(imbalancePercentage: percentage)
            })
        }
        let sessionMs = config.brokerSessionTimeoutMs
        let heartbeatMs = config.brokerHeartbeatIntervalMs
        // Checked often: a broker whose heartbeat connection closed (killed) is fenced within
        // `connectionLossGraceMs` plus this period, and every partition it led or followed waits on that.
        timers.append(controlGroup.next().scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) {
            [controller] _ in controller!.fenceExpiredBrokers(nowMs: Clock.monotonicMs(), sessionTimeoutMs: sessionMs, heartbeatIntervalMs: heartbeatMs)
        })
    }

    /// Clean shutdown: stop accepting, let connections finish what they are answering, flush and close every
    /// log, leave the clean-shutdown marker.
    public func shutdown() {
        guard stopped.withLockedValue({ let was = $0; $0 = true; return !was }) else { return }
        logger.info("shutting down")
        // Hand leadership to the other replicas before going away (a no-op on a single node).
        lifecycle?.controlledShutdown(timeoutMs: 5_000)
        for timer in timers { timer.cancel() }
        metricsServer?.close()
        groupCoordinator?.stop()
        transactionCoordinator?.stop()
        for channel in channelsLock.withLock({ channels }) { try? channel.close().wait() }
        connections.closeAll(graceMs: 500)
        replicas?.shutdown()
        let nowMs = Clock.nowMs()
        forwarding?.close()
        do {
            try logs?.shutdown(nowMs: nowMs)
            quorum?.shutdown()
        } catch {
            logger.error("shutdown could not flush everything: \(error)")
        }
        try? group.syncShutdownGracefully()
        try? controlGroup.syncShutdownGracefully()
        logger.info("shut down cleanly")
    }

    /// Blocks until SIGTERM or SIGINT, then shuts down.
    public func runUntilSignalled() {
        let done = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { done.signal() }
            source.resume()
            sources.append(source)
        }
        done.wait()
        shutdown()
        _ = sources
    }
}

/// Open client connections, so a clean shutdown can close them after in-flight responses are written.
final class ConnectionRegistry: @unchecked Sendable {
    private let lock = NIOLock()
    private var channels: [ObjectIdentifier: Channel] = [:]

    func add(_ channel: Channel) {
        let id = ObjectIdentifier(channel)
        lock.withLock { channels[id] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in self?.lock.withLock { _ = self?.channels.removeValue(forKey: id) } }
    }

    func closeAll(graceMs: Int64) {
        let open = lock.withLock { Array(channels.values) }
        for channel in open {
            _ = channel.eventLoop.scheduleTask(in: .milliseconds(graceMs)) { channel.close(promise: nil) }
        }
        for channel in open { try? channel.closeFuture.wait() }
    }
}

public enum ClusterId {
    /// A random cluster id in Kafka's form: a UUID in URL-safe base64 without padding.
    public static func random() -> String { KafkaUUID.random().description }
}
