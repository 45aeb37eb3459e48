#if canImport(Glibc)
import Glibc
#endif
import CrucibleProtocol
import CrucibleRaft
import CrucibleSecurity
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// How one node takes part in the metadata quorum.
public struct RaftQuorumSettings: Sendable {
    public var nodeId: Int32
    /// `controller.quorum.voters`. A node not among them is an observer: it replicates but never votes.
    public var voters: [Int32: QuorumVoterAddress]
    public var clusterId: String
    /// `metadata.log.dir`; the quorum's files go in its `__cluster_metadata-0/`.
    public var metadataDirectory: String
    public var electionTimeoutMs: Int64 = 1000
    public var fetchTimeoutMs: Int64 = 2000
    public var requestTimeoutMs: Int64 = 2000
    /// A snapshot is taken (and the log prefix it covers dropped) after this many committed records.
    public var snapshotEveryRecords = 20_000
    /// How this node reaches the other controllers' listener (TLS, SASL).
    public var security: ClientSecurity

    public init(nodeId: Int32, voters: [Int32: QuorumVoterAddress], clusterId: String, metadataDirectory: String,
                security: ClientSecurity = .plaintext) {
        self.security = security
        self.nodeId = nodeId
        self.voters = voters
        self.clusterId = clusterId
        self.metadataDirectory = metadataDirectory
    }

    var raftConfig: RaftConfig {
        var config = RaftConfig(nodeID: nodeId, voters: Array(voters.keys))
        config.electionTimeoutMs = electionTimeoutMs
        config.fetchTimeoutMs = fetchTimeoutMs
        config.requestTimeoutMs = requestTimeoutMs
        // A follower's long-poll must end well inside its fetch timeout, or an idle leader looks dead.
        config.fetchMaxWaitMs = min(config.fetchMaxWaitMs, fetchTimeoutMs / 4)
        return config
    }
}

/// The metadata quorum of a cluster: one Raft core (`RaftNode`) driven on a dedicated event loop, with its
/// election state, log and snapshots on disk and its messages sent as Kafka RPCs to the other controllers.
///
/// Every call into the core and every action it returns runs on that loop, in order; durable actions are on
/// disk before the next one starts. Incoming RPCs (Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch,
/// FetchSnapshot) come from the broker's controller listener through `handle(_:)` and are answered with the
/// core's response to them.
public final class RaftMetadataQuorum: MetadataQuorum, @unchecked Sendable {
    public let nodeId: Int32
    let settings: RaftQuorumSettings
    let config: RaftConfig
    let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    let eventLoop: EventLoop
    /// What other threads may read: the node's view of the quorum, updated on every role change.
    private let view = NIOLockedValueBox(LeaderAndEpoch(leaderID: nil, epoch: 0))
    /// What other threads may read of the log's progress, updated after every step.
    private let progressView = NIOLockedValueBox(QuorumProgress())

    // State below lives on `eventLoop`.
    var node: RaftNode!
    var store: RaftLogStore!
    var transport: ControllerConnections!
    var onCommit: (@Sendable (MetadataCommit) -> Void)?
    /// The image of everything committed, kept so that snapshots can be written from it.
    var committedImage = MetadataImage()
    var recordsSinceSnapshot = 0
    /// Proposals waiting for their entry to commit, by Raft offset.
    var proposals: [Int64: EventLoopPromise<Int64>] = [:]
    /// Incoming requests waiting for the core's answer, by (sender, correlation id given to the core).
    var inbound: [InboundKey: InboundRequest] = [:]
    var nextInboundCorrelationID: Int32 = 0
    var timer: Scheduled<Void>?
    var stopped = false

    public init(settings: RaftQuorumSettings, logger: Logger = Logger(label: "crucible.quorum")) {
        self.settings = settings
        nodeId = settings.nodeId
        config = settings.raftConfig
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        eventLoop = group.next()
    }

    public var leaderId: Int32? { view.withLockedValue { $0.leaderID } }
    public var epoch: Int32 { view.withLockedValue { $0.epoch } }
    public var isVoter: Bool { config.isVoter }
    public var voterIds: [Int32] { config.voters }

    func noteView(_ current: LeaderAndEpoch) {
        view.withLockedValue { $0 = current }
    }

    public var progress: QuorumProgress { progressView.withLockedValue { $0 } }

    func noteProgress(_ node: RaftNode) {
        var progress = QuorumProgress(highWatermark: node.highWatermark, logEndOffset: node.log.endOffset)
        let status = Dictionary(node.replicaStatus.map { ($0.nodeID, $0.logEndOffset) }, uniquingKeysWith: { first, _ in first })
        if node.role == .leader {
            for voter in config.voters { progress.voterEndOffsets[voter] = status[voter] ?? nil }
        }
        progressView.withLockedValue { $0 = progress }
    }

    public func start(onCommit: @escaping @Sendable (MetadataCommit) -> Void) throws {
        let nowMs = Self.nowMs()
        let store = try RaftLogStore(metadataDirectory: settings.metadataDirectory, nowMs: Self.wallClockMs(),
                                     logger: logger)
        let durable = try store.load()
        try eventLoop.submit {
            self.store = store
            self.onCommit = onCommit
            self.transport = ControllerConnections(eventLoop: self.eventLoop, clientId: "raft-\(self.nodeId)",
                                                   localId: self.nodeId, addresses: self.settings.voters,
                                                   security: self.settings.security)
            var seed = SystemRandomNumberGenerator()
            self.node = RaftNode(config: self.config, durable: durable, random: SplitMix64(seed: seed.next()),
                                 nowMs: nowMs)
            if let snapshot = durable.snapshot { try self.deliverSnapshot(snapshot) }
            self.logger.info("metadata quorum: node \(self.nodeId) starts in epoch \(self.node.epoch) with \(durable.entries.count) entries after snapshot \(durable.snapshot.map { "\($0.id)" } ?? "none")")
            self.run(self.node.start(nowMs: nowMs))
        }.wait()
    }

    public func propose(_ records: [any KafkaMetadataRecord]) -> EventLoopFuture<Int64> {
        eventLoop.flatSubmit {
            guard !self.stopped, let node = self.node else {
                return self.eventLoop.makeFailedFuture(NotControllerError(leaderId: nil))
            }
            let payload: [UInt8]
            do {
                payload = try MetadataEntryCodec.proposalPayload(records, nowMs: Self.wallClockMs())
            } catch {
                return self.eventLoop.makeFailedFuture(error)
            }
            switch node.propose([payload], nowMs: Self.nowMs()) {
            case .notLeader(let current):
                return self.eventLoop.makeFailedFuture(NotControllerError(leaderId: current.leaderID))
            case .accepted(let offsets, _, let actions):
                let promise = self.eventLoop.makePromise(of: Int64.self)
                self.proposals[offsets.lowerBound] = promise
                self.run(actions)
                return promise.futureResult
            }
        }
    }

    /// A leader hands over (EndQuorumEpoch) so the others elect a successor without waiting for a timeout;
    /// then the node stops and its files are closed.
    public func shutdown() {
        guard (try? eventLoop.submit({ self.stop() }).wait()) != nil else { return }
        try? group.syncShutdownGracefully()
    }

    private func stop() {
        guard !stopped, let node else { return }
        if node.role == .leader { run(node.resign(nowMs: Self.nowMs())) }
        stopped = true
        timer?.cancel()
        failProposals(leaderId: nil)
        for key in Array(inbound.keys) { answerWithError(key, code: .brokerNotAvailable) }
        transport.close()
        store.close(nowMs: Self.wallClockMs())
        noteView(LeaderAndEpoch(leaderID: nil, epoch: node.epoch))
        logger.info("metadata quorum: node \(nodeId) stopped")
    }

    /// Monotonic milliseconds: the core's clock.
    static func nowMs() -> Int64 {
        Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000)
    }

    /// Wall-clock milliseconds: record timestamps and DescribeQuorum's fetch times.
    static func wallClockMs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
