import CrucibleController
import CrucibleProtocol
import NIOCore

extension BrokerApis {
    func describeConfigs(_ request: DescribeConfigsRequest, _ context: RequestContext) throws -> Reply<DescribeConfigsResponse> {
        let image = controller.currentImage
        var response = DescribeConfigsResponse()
        response.results = request.resources.map { resource in
            var result = DescribeConfigsResponse.DescribeConfigsResult()
            result.resourceType = resource.resourceType
            result.resourceName = resource.resourceName
            let entries: [(key: String, value: String, isDefault: Bool)]
            switch resource.resourceType {
            case ConfigResourceType.topic:
                guard let topic = image.topic(named: resource.resourceName) else {
                    result.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                    result.errorMessage = "Topic \(resource.resourceName) not found"
                    return result
                }
                entries = TopicConfig(topic.configs).described(defaults: config)
            case ConfigResourceType.broker:
                entries = brokerConfigEntries()
            default:
                result.errorCode = ErrorCode.invalidRequest.rawValue
                result.errorMessage = "unsupported resource type \(resource.resourceType)"
                return result
            }
            let keys = resource.configurationKeys.map(Set.init)
            result.configs = entries.filter { keys?.contains($0.key) ?? true }.map { entry in
                var c = DescribeConfigsResponse.DescribeConfigsResourceResult()
                c.name = entry.key
                c.value = entry.value
                c.isDefault = entry.isDefault
                c.readOnly = resource.resourceType == ConfigResourceType.broker
                c.configSource = resource.resourceType == ConfigResourceType.broker ? ConfigSource.staticBrokerConfig
                    : (entry.isDefault ? ConfigSource.defaultConfig : ConfigSource.topicConfig)
                return c
            }
            return result
        }
        return .now(response)
    }

    private func brokerConfigEntries() -> [(key: String, value: String, isDefault: Bool)] {
        [
            ("node.id", String(config.nodeId)), ("num.partitions", String(config.numPartitions)),
            ("default.replication.factor", String(config.defaultReplicationFactor)),
            ("min.insync.replicas", String(config.minInsyncReplicas)),
            ("unclean.leader.election.enable", String(config.uncleanLeaderElectionEnable)),
            ("auto.create.topics.enable", String(config.autoCreateTopicsEnable)),
            ("log.segment.bytes", String(config.log.segmentBytes)), ("log.retention.ms", String(config.log.retentionMs)),
            ("log.retention.bytes", String(config.log.retentionBytes)),
            ("message.max.bytes", String(config.log.maxMessageBytes)),
            ("socket.request.max.bytes", String(config.socketRequestMaxBytes)),
        ].map { ($0.0, $0.1, false) }
    }

    func alterConfigs(_ request: AlterConfigsRequest, _ context: RequestContext) throws -> Reply<AlterConfigsResponse> {
        let image = controller.currentImage
        let results = request.resources.map { resource in
            // AlterConfigs replaces the whole set: keys not named go back to their defaults.
            let current = image.topic(named: resource.resourceName)?.configs ?? [:]
            var changes: [(key: String, value: String?)] = resource.configs.map { ($0.name, $0.value) }
            for key in current.keys where !resource.configs.contains(where: { $0.name == key }) { changes.append((key, nil)) }
            return alterTopic(resource.resourceType, resource.resourceName, changes, validateOnly: request.validateOnly)
                .map { code, message -> AlterConfigsResponse.AlterConfigsResourceResponse in
                    var result = AlterConfigsResponse.AlterConfigsResourceResponse()
                    result.resourceType = resource.resourceType
                    result.resourceName = resource.resourceName
                    (result.errorCode, result.errorMessage) = (code, message)
                    return result
                }
        }
        return .later(EventLoopFuture.whenAllSucceed(results, on: context.eventLoop).map { responses in
            var response = AlterConfigsResponse()
            response.responses = responses
            return HandlerOutput(response: response)
        })
    }

    func incrementalAlterConfigs(_ request: IncrementalAlterConfigsRequest,
                                 _ context: RequestContext) throws -> Reply<IncrementalAlterConfigsResponse> {
        let results = request.resources.map { resource in
            // Operations: 0 SET, 1 DELETE; APPEND/SUBTRACT apply to list configs, which topics here have none of.
            let future: EventLoopFuture<(Int16, String?)>
            if resource.configs.allSatisfy({ $0.configOperation == 0 || $0.configOperation == 1 }) {
                let changes = resource.configs.map { (key: $0.name, value: $0.configOperation == 1 ? nil : $0.value) }
                future = alterTopic(resource.resourceType, resource.resourceName, changes, validateOnly: request.validateOnly)
            } else {
                future = context.eventLoop.makeSucceededFuture(
                    (ErrorCode.invalidRequest.rawValue, "only SET and DELETE operations are supported"))
            }
            return future.map { code, message -> IncrementalAlterConfigsResponse.AlterConfigsResourceResponse in
                var result = IncrementalAlterConfigsResponse.AlterConfigsResourceResponse()
                result.resourceType = resource.resourceType
                result.resourceName = resource.resourceName
                (result.errorCode, result.errorMessage) = (code, message)
                return result
            }
        }
        return .later(EventLoopFuture.whenAllSucceed(results, on: context.eventLoop).map { responses in
            var response = IncrementalAlterConfigsResponse()
            response.responses = responses
            return HandlerOutput(response: response)
        })
    }

    private func alterTopic(_ type: Int8, _ name: String, _ changes: [(key: String, value: String?)],
                            validateOnly: Bool) -> EventLoopFuture<(Int16, String?)> {
        guard type == ConfigResourceType.topic else {
            return controllerLoop.makeSucceededFuture((ErrorCode.invalidRequest.rawValue, "only topic configs can be altered"))
        }
        return controller.alterTopicConfigs(name, changes, validateOnly: validateOnly).map { ($0.0.rawValue, $0.1) }
    }
}
