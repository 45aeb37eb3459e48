import CrucibleController
import CrucibleGroups
import CrucibleMetrics

/// The gauges of state, computed at each scrape from what the node holds: its partitions, purgatories and
/// producers, the groups it coordinates, the controller's view and the metadata quorum.
extension BrokerMetrics {
    func collectState(replicas: ReplicaManager, controller: QuorumController, groups: GroupCoordinator) {
        registry.onScrape { metrics in
            Self.collectReplicas(replicas, into: metrics)
            Self.collectController(controller, into: metrics)
            Self.collectGroups(groups.statistics.withLockedValue { $0 }, replicas: replicas, into: metrics)
        }
    }

    private static func collectReplicas(_ replicas: ReplicaManager, into metrics: MetricsRegistry) {
        var partitions = 0, leaders = 0, underReplicated = 0, underMinIsr = 0, producerIds = 0
        for partition in replicas.allPartitions {
            let image = partition.image
            partitions += 1
            let labels = [("topic", partition.topic), ("partition", String(partition.index))]
            metrics.transientGauge("kafka_log_log_size", labels).set(Double(partition.log.sizeBytes))
            metrics.transientGauge("kafka_log_log_logendoffset", labels).set(Double(partition.log.logEndOffset))
            guard partition.isLeader else { continue }
            leaders += 1
            producerIds += partition.log.producerCount
            if image.isr.count < image.replicas.count { underReplicated += 1 }
            if Int32(image.isr.count) < partition.minInsyncReplicas { underMinIsr += 1 }
        }
        let manager = "kafka_server_replicamanager_"
        metrics.gauge(manager + "partitioncount").set(Double(partitions))
        metrics.gauge(manager + "leadercount").set(Double(leaders))
        metrics.gauge(manager + "underreplicatedpartitions", help: "Partitions led here with fewer in-sync replicas than replicas.")
            .set(Double(underReplicated))
        metrics.gauge(manager + "underminisrpartitioncount").set(Double(underMinIsr))
        metrics.gauge(manager + "produceridcount", help: "Producer ids with state in the partitions led here.").set(Double(producerIds))

        // Requests waiting in purgatory: acks=all produces for replication, long-poll fetches for data.
        let purgatory = "kafka_server_delayedoperationpurgatory_"
        for (operation, size) in [("Produce", replicas.producePurgatory.size), ("Fetch", replicas.fetchWaiters.size)] {
            metrics.gauge(purgatory + "purgatorysize", [("delayedOperation", operation)]).set(Double(size))
            metrics.gauge(purgatory + "numdelayedoperations", [("delayedOperation", operation)]).set(Double(size))
        }
    }

    private static func collectController(_ controller: QuorumController, into metrics: MetricsRegistry) {
        // The controller's gauges: counted by the active controller only, 0 elsewhere, as in Kafka.
        let active = controller.isActive
        let image = controller.currentImage
        var offline = 0, total = 0
        if active {
            for topic in image.topicsByName.values {
                total += topic.partitions.count
                offline += topic.partitions.values.filter { $0.leader < 0 }.count
            }
        }
        let kafkaController = "kafka_controller_kafkacontroller_"
        metrics.gauge(kafkaController + "activecontrollercount", help: "1 on the active controller, 0 elsewhere.").set(active ? 1.0 : 0.0)
        metrics.gauge(kafkaController + "offlinepartitionscount").set(Double(offline))
        metrics.gauge(kafkaController + "globalpartitioncount").set(Double(total))
        metrics.gauge(kafkaController + "globaltopiccount").set(active ? Double(image.topicsByName.count) : 0.0)

        // The metadata quorum (Kafka's raft-metrics), and on its leader how far each voter is behind.
        let raft = "kafka_server_raft_metrics_", progress = controller.quorum.progress
        metrics.gauge(raft + "current_leader").set(Double(controller.quorum.leaderId ?? -1))
        metrics.gauge(raft + "current_epoch").set(Double(controller.quorum.epoch))
        metrics.gauge(raft + "high_watermark").set(Double(image.appliedOffset + 1))
        metrics.gauge(raft + "log_end_offset").set(Double(progress.logEndOffset))
        for (voter, end) in progress.voterEndOffsets {
            // A voter not heard from yet is as far behind as the whole log.
            let lag = max(0, progress.logEndOffset - (end ?? 0))
            metrics.transientGauge("crucible_raft_voter_lag", [("voter", String(voter))],
                                   help: "Metadata log records a voter lacks, as its leader sees it (leader only).").set(Double(lag))
        }
    }

    /// Kafka's GroupMetadataManager gauges, and kafka_exporter's per-partition offsets and lag: the partition's
    /// high watermark less the group's committed offset, where this node holds a replica of the partition.
    private static func collectGroups(_ statistics: GroupStatistics, replicas: ReplicaManager, into metrics: MetricsRegistry) {
        let manager = "kafka_coordinator_group_groupmetadatamanager_"
        metrics.gauge(manager + "numgroups").set(Double(statistics.groups))
        metrics.gauge(manager + "numoffsets").set(Double(statistics.committed.count))
        for state in GroupState.allCases {
            let name = state.rawValue.lowercased()
            metrics.gauge(manager + "numgroups\(name)").set(Double(statistics.groupsByState[state] ?? 0))
        }
        for (group, members) in statistics.members {
            metrics.transientGauge("kafka_consumergroup_members", [("consumergroup", group)]).set(Double(members))
        }
        for committed in statistics.committed {
            let labels = [("consumergroup", committed.group), ("topic", committed.topic), ("partition", String(committed.partition))]
            metrics.transientGauge("kafka_consumergroup_current_offset", labels).set(Double(committed.offset))
            guard let partition = replicas.partition(committed.topic, committed.partition) else { continue }
            metrics.transientGauge("kafka_consumergroup_lag", labels).set(Double(max(0, partition.highWatermark - committed.offset)))
        }
    }
}
