import CrucibleProtocol
import NIOCore

/// The admin decisions beyond creating and deleting topics: more partitions, leader elections, reassignments
/// and dynamic broker configs. Each is a pure command (`ControllerCommands`) run like every other.
extension QuorumController {
    public func createPartitions(topic: String, count: Int32, assignments: [[Int32]]?,
                                 validateOnly: Bool) -> EventLoopFuture<(ErrorCode, String?)> {
        command("createPartitions") { image in
            let (records, result) = ControllerCommands.createPartitions(topic: topic, count: count, assignments: assignments,
                                                                        image: image)
            return (validateOnly ? [] : records, result)
        }
    }

    public func electLeaders(_ type: ElectionType,
                             partitions: [(topic: String, partition: Int32)]?) -> EventLoopFuture<[PartitionOutcome]> {
        command("electLeaders") { image in ControllerCommands.electLeaders(type, partitions: partitions, image: image) }
    }

    public func alterReassignments(_ requests: [ReassignmentRequest]) -> EventLoopFuture<[PartitionOutcome]> {
        command("alterReassignments") { image in ControllerCommands.alterReassignments(requests, image: image) }
    }

    /// Dynamic broker configs: `resource` "" for the cluster-wide default, or a node id. A nil value removes the
    /// override.
    public func alterBrokerConfigs(_ resource: String, _ changes: [(key: String, value: String?)],
                                   validateOnly: Bool) -> EventLoopFuture<(ErrorCode, String?)> {
        command("alterBrokerConfigs") { [policy] image in
            for (key, value) in changes {
                guard let value else { continue }
                do { try policy.validateBrokerConfig(key, value) } catch { return ([], (.invalidConfig, "\(error)")) }
            }
            let records: [any KafkaMetadataRecord] = changes.map { key, value in
                var record = ConfigRecord()
                record.resourceType = ConfigResourceType.broker
                record.resourceName = resource
                record.name = key
                record.value = value
                return record
            }
            return (validateOnly ? [] : records, (.none, nil))
        }
    }
}
