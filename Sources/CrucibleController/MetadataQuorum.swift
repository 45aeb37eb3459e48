import CrucibleProtocol
import NIOCore

/// What the metadata log has committed, delivered in log order.
public enum MetadataCommit: Sendable {
    /// Records committed at `baseOffset`, `baseOffset + 1`, ...
    case records(baseOffset: Int64, [any KafkaMetadataRecord])
    /// A snapshot replacing everything up to (not including) `endOffset`: the image is rebuilt from these.
    case snapshot(endOffset: Int64, [any KafkaMetadataRecord])
}

/// This node is not the active controller; `leaderId` is the best guess of who is (nil: unknown).
public struct NotControllerError: Error, CustomStringConvertible {
    public let leaderId: Int32?
    public init(leaderId: Int32?) { self.leaderId = leaderId }
    public var description: String { "not the active controller (leader: \(leaderId.map(String.init) ?? "unknown"))" }
}

/// The replicated metadata log as the controller and the brokers see it. A single node writes its log directly
/// (`LocalMetadataQuorum`); a cluster runs Raft among the controller voters.
public protocol MetadataQuorum: AnyObject, Sendable {
    var nodeId: Int32 { get }
    /// The active controller (the Raft leader) as this node knows it.
    var leaderId: Int32? { get }
    var epoch: Int32 { get }
    /// Starts the quorum. `onCommit` is called for every committed batch in log order, from the start of the log
    /// (or from a snapshot) onwards, never concurrently with itself.
    func start(onCommit: @escaping @Sendable (MetadataCommit) -> Void) throws
    /// Appends `records` as one batch when this node leads. The future succeeds with the batch's first offset
    /// after `onCommit` has delivered it, and fails with `NotControllerError` when this node does not lead or
    /// loses leadership before the batch commits.
    func propose(_ records: [any KafkaMetadataRecord]) -> EventLoopFuture<Int64>
    func shutdown()
    /// The log's progress as this node last saw it (`kafka-metadata-quorum describe --replication` in numbers).
    var progress: QuorumProgress { get }
}

/// The metadata log's high watermark and end offset on this node and, on the leader, every voter's end offset.
public struct QuorumProgress: Sendable, Equatable {
    public var highWatermark: Int64 = -1
    public var logEndOffset: Int64 = -1
    /// Filled on the leader only: only it hears every voter's position (nil: not heard from yet).
    public var voterEndOffsets: [Int32: Int64?] = [:]

    public init(highWatermark: Int64 = -1, logEndOffset: Int64 = -1, voterEndOffsets: [Int32: Int64?] = [:]) {
        self.highWatermark = highWatermark
        self.logEndOffset = logEndOffset
        self.voterEndOffsets = voterEndOffsets
    }
}
