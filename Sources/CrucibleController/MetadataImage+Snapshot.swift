import CrucibleProtocol

extension MetadataImage {
    /// Records that rebuild this image from nothing (a metadata snapshot): brokers, then each topic with its
    /// partitions and configs, then the producer id high-water mark. Replaying them gives an equal image (up to
    /// `appliedOffset`, which follows the offsets they are applied at).
    public func snapshotRecords() -> [any KafkaMetadataRecord] {
        var records: [any KafkaMetadataRecord] = features.sorted(by: { $0.key < $1.key }).map { name, level in
            var record = FeatureLevelRecord()
            record.name = name
            record.featureLevel = level
            return record
        }
        for broker in brokers.values.sorted(by: { $0.id < $1.id }) {
            var record = RegisterBrokerRecord()
            record.brokerId = broker.id
            record.brokerEpoch = broker.epoch
            record.rack = broker.rack
            record.fenced = broker.fenced
            record.endPoints = broker.endpoints.map { endpoint in
                var entry = RegisterBrokerRecord.BrokerEndpoint()
                entry.name = endpoint.name
                entry.host = endpoint.host
                entry.port = UInt16(clamping: endpoint.port)
                return entry
            }
            records.append(record)
        }
        for topic in sortedTopics {
            var record = TopicRecord()
            record.name = topic.name
            record.topicId = topic.id
            records.append(record)
            for partition in topic.partitions.values.sorted(by: { $0.partition < $1.partition }) {
                var entry = PartitionRecord()
                entry.topicId = topic.id
                entry.partitionId = partition.partition
                entry.replicas = partition.replicas
                entry.isr = partition.isr
                entry.leader = partition.leader
                entry.leaderEpoch = partition.leaderEpoch
                entry.partitionEpoch = partition.partitionEpoch
                entry.addingReplicas = partition.addingReplicas
                entry.removingReplicas = partition.removingReplicas
                records.append(entry)
            }
            for (key, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
                var config = ConfigRecord()
                config.resourceType = ConfigResourceType.topic
                config.resourceName = topic.name
                config.name = key
                config.value = value
                records.append(config)
            }
        }
        for (resource, configs) in brokerConfigs.sorted(by: { $0.key < $1.key }) {
            for (key, value) in configs.sorted(by: { $0.key < $1.key }) {
                var config = ConfigRecord()
                config.resourceType = ConfigResourceType.broker
                config.resourceName = resource
                config.name = key
                config.value = value
                records.append(config)
            }
        }
        for (id, binding) in acls.sorted(by: { $0.key.description < $1.key.description }) {
            records.append(AccessControlEntryRecord(id: id, binding))
        }
        for (user, credentials) in scramCredentials.sorted(by: { $0.key < $1.key }) {
            for (mechanism, credential) in credentials.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                records.append(UserScramCredentialRecord(user: user, mechanism: mechanism, credential: credential))
            }
        }
        if nextProducerId > 0 {
            var ids = ProducerIdsRecord()
            ids.nextProducerId = nextProducerId
            records.append(ids)
        }
        return records
    }
}
