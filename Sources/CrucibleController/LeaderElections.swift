import CrucibleProtocol

/// The leader elections in a batch the controller committed (Kafka's ControllerStats): a partition change
/// that names a leader other than the one it had. An election is unclean when its leader was not in the ISR
/// the change was decided on, so it may lack acknowledged writes.
public struct LeaderElections: Equatable, Sendable {
    public var clean = 0
    public var unclean = 0
    public var total: Int { clean + unclean }

    public init(clean: Int = 0, unclean: Int = 0) {
        self.clean = clean
        self.unclean = unclean
    }

    public init(_ records: [any KafkaMetadataRecord], decidedOn image: MetadataImage) {
        for case let change as PartitionChangeRecord in records where change.leader >= 0 {
            guard let before = image.topic(id: change.topicId)?.partitions[change.partitionId],
                  before.leader != change.leader else { continue }
            if before.isr.contains(change.leader) { clean += 1 } else { unclean += 1 }
        }
    }
}
