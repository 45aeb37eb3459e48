import CrucibleProtocol
import CrucibleSecurity

/// Topic and cluster administration under ACLs, each entry on its own resource: CREATE, DELETE and ALTER on a
/// topic (CREATE on the cluster covers every new topic), DESCRIBE_CONFIGS and ALTER_CONFIGS on a topic or on the
/// cluster for a broker's configs, DESCRIBE and ALTER on the cluster for reassignments, elections, log
/// directories and the quorum, CLUSTER_ACTION for what followers ask.
extension BrokerApis {
    func guardTopicAdmin(in table: inout ApiTable) {
        let topic = ErrorCode.topicAuthorizationFailed
        table.filtering(CreateTopicsRequest.self) { [self] request, context in
            guard !allowedOnCluster(context, .create) else { return nil }
            return refusing(request, \.topics, \.topics, allowed: { allowed(context, .create, .topic, $0.name) }) {
                ControllerRefusal.createTopics($0, topic)
            }
        }
        table.filtering(DeleteTopicsRequest.self) { [self] request, context in
            let image = controller.currentImage
            let may = { [self] (name: String?) in name.map { allowed(context, .delete, .topic, $0) } ?? true }
            if context.version >= 6 {
                // By id, the topic's name is what ACLs are about.
                return refusing(request, \.topics, \.responses, allowed: { may($0.name ?? image.topic(id: $0.topicId)?.name) }) {
                    ControllerRefusal.deleteTopics($0, topic)
                }
            }
            return refusing(request, \.topicNames, \.responses, allowed: may) { ControllerRefusal.deleteTopics($0, topic) }
        }
        table.filtering(CreatePartitionsRequest.self) { [self] request, context in
            refusing(request, \.topics, \.results, allowed: { allowed(context, .alter, .topic, $0.name) }) {
                ControllerRefusal.createPartitions($0, topic)
            }
        }
        table.filtering(DeleteRecordsRequest.self) { [self] request, context in
            refusing(request, \.topics, \.topics, allowed: { allowed(context, .delete, .topic, $0.name) }) { denied in
                var response = DeleteRecordsResponse()
                response.topics = denied.topics.map { entry in
                    var result = DeleteRecordsResponse.DeleteRecordsTopicResult()
                    result.name = entry.name
                    result.partitions = entry.partitions.map { partition in
                        var answer = DeleteRecordsResponse.DeleteRecordsPartitionResult()
                        answer.partitionIndex = partition.partitionIndex
                        answer.lowWatermark = -1
                        answer.errorCode = topic.rawValue
                        return answer
                    }
                    return result
                }
                return response
            }
        }
        table.filtering(DescribeProducersRequest.self) { [self] request, context in
            refusing(request, \.topics, \.topics, allowed: { allowed(context, .read, .topic, $0.name) }) { denied in
                var response = DescribeProducersResponse()
                response.topics = denied.topics.map { entry in
                    var result = DescribeProducersResponse.TopicResponse()
                    result.name = entry.name
                    result.partitions = entry.partitionIndexes.map { index in
                        var answer = DescribeProducersResponse.PartitionResponse()
                        answer.partitionIndex = index
                        answer.errorCode = topic.rawValue
                        return answer
                    }
                    return result
                }
                return response
            }
        }
        // A follower (replica id 0 or more) needs CLUSTER_ACTION; a consumer checking truncation, DESCRIBE.
        table.filtering(OffsetForLeaderEpochRequest.self) { [self] request, context in
            let follower = request.replicaId >= 0
            if follower && allowedOnCluster(context, .clusterAction) { return nil }
            let code: ErrorCode = follower ? .clusterAuthorizationFailed : topic
            return refusing(request, \.topics, \.topics, allowed: { !follower && allowed(context, .describe, .topic, $0.topic) }) { denied in
                var response = OffsetForLeaderEpochResponse()
                response.topics = denied.topics.map { entry in
                    var result = OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult()
                    result.topic = entry.topic
                    result.partitions = entry.partitions.map { partition in
                        var answer = OffsetForLeaderEpochResponse.EpochEndOffset()
                        answer.partition = partition.partition
                        answer.errorCode = code.rawValue
                        return answer
                    }
                    return result
                }
                return response
            }
        }
        // Configs: a topic's on the topic, a broker's (or its loggers') on the cluster.
        let isTopic: (Int8) -> Bool = { $0 == 2 }
        func configs<R: KafkaRequest, Resource, Result>(
            _ type: R.Type, _ operation: AclOperation, _ resources: WritableKeyPath<R, [Resource]>,
            _ results: WritableKeyPath<R.Response, [Result]>, _ kind: KeyPath<Resource, Int8>, _ name: KeyPath<Resource, String>,
            _ refuse: @escaping (R, ErrorCode) -> R.Response
        ) {
            table.filtering(type) { [self] request, context in
                let clusterAllowed = allowedOnCluster(context, operation)
                return refusing(request, resources, results, allowed: { resource in
                    isTopic(resource[keyPath: kind]) ? allowed(context, operation, .topic, resource[keyPath: name]) : clusterAllowed
                }) { denied in
                    // Each refused resource with its own error: topics TOPIC_, brokers CLUSTER_AUTHORIZATION_FAILED.
                    var topics = denied, brokers = denied
                    topics[keyPath: resources].removeAll { !isTopic($0[keyPath: kind]) }
                    brokers[keyPath: resources].removeAll { isTopic($0[keyPath: kind]) }
                    var response = refuse(topics, topic)
                    response[keyPath: results] += refuse(brokers, .clusterAuthorizationFailed)[keyPath: results]
                    return response
                }
            }
        }
        configs(DescribeConfigsRequest.self, .describeConfigs, \.resources, \.results, \.resourceType, \.resourceName,
                ControllerRefusal.describeConfigs)
        configs(AlterConfigsRequest.self, .alterConfigs, \.resources, \.responses, \.resourceType, \.resourceName,
                ControllerRefusal.alterConfigs)
        configs(IncrementalAlterConfigsRequest.self, .alterConfigs, \.resources, \.responses, \.resourceType, \.resourceName,
                ControllerRefusal.incrementalAlterConfigs)
    }

    func guardClusterAdmin(in table: inout ApiTable) {
        let cluster = ErrorCode.clusterAuthorizationFailed
        func onCluster<R: KafkaRequest>(_ type: R.Type, _ operation: AclOperation, _ refuse: @escaping (R) -> R.Response) {
            table.filtering(type) { [self] request, context in
                allowedOnCluster(context, operation) ? nil : refusingAll(refuse(request))
            }
        }
        onCluster(ElectLeadersRequest.self, .alter) { ControllerRefusal.electLeaders($0, cluster) }
        onCluster(AlterPartitionReassignmentsRequest.self, .alter) { ControllerRefusal.alterPartitionReassignments($0, cluster) }
        onCluster(ListPartitionReassignmentsRequest.self, .describe) { _ in
            var response = ListPartitionReassignmentsResponse()
            response.errorCode = cluster.rawValue
            response.errorMessage = nil
            return response
        }
        // Versions before 3 have no error code: Kafka answers them with no log directories.
        onCluster(DescribeLogDirsRequest.self, .describe) { _ in
            var response = DescribeLogDirsResponse()
            response.errorCode = cluster.rawValue
            return response
        }
        onCluster(DescribeQuorumRequest.self, .describe) { _ in
            var response = DescribeQuorumResponse()
            response.errorCode = cluster.rawValue
            response.errorMessage = nil
            return response
        }
        onCluster(AlterUserScramCredentialsRequest.self, .alter) { ControllerRefusal.alterUserScramCredentials($0, cluster) }
        onCluster(DescribeUserScramCredentialsRequest.self, .describe) { _ in
            var response = DescribeUserScramCredentialsResponse()
            response.errorCode = cluster.rawValue
            response.errorMessage = nil
            return response
        }
    }
}
