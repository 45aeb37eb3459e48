import CrucibleController
import CrucibleProtocol
import NIOCore

/// DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics and for brokers' dynamic configs.
extension BrokerApis {
    var configSources: ConfigSources {
        ConfigSources(broker: config, image: controller.currentImage, nodeId: nodeId)
    }

    func describeConfigs(_ request: DescribeConfigsRequest, _ context: RequestContext) throws -> Reply<DescribeConfigsResponse> {
        let sources = configSources
        var response = DescribeConfigsResponse()
        response.results = request.resources.map { resource in
            var result = DescribeConfigsResponse.DescribeConfigsResult()
            result.resourceType = resource.resourceType
            result.resourceName = resource.resourceName
            let entries: [DescribedConfig]
            switch resource.resourceType {
            case ConfigResourceType.topic:
                guard let topic = sources.image.topic(named: resource.resourceName) else {
                    result.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                    result.errorMessage = "Topic \(resource.resourceName) not found"
                    return result
                }
                entries = sources.describeTopic(topic.configs)
            case ConfigResourceType.broker:
                guard resource.resourceName.isEmpty || resource.resourceName == String(nodeId) else {
                    result.errorCode = ErrorCode.invalidRequest.rawValue
                    result.errorMessage = "Unexpected broker id, expected \(nodeId) or empty string, but received \(resource.resourceName)"
                    return result
                }
                entries = sources.describeBroker(resource: resource.resourceName)
            default:
                result.errorCode = ErrorCode.invalidRequest.rawValue
                result.errorMessage = "unsupported resource type \(resource.resourceType)"
                return result
            }
            let keys = resource.configurationKeys.map(Set.init)
            result.configs = entries.filter { keys?.contains($0.name) ?? true }.map { entry in
                var c = DescribeConfigsResponse.DescribeConfigsResourceResult()
                c.name = entry.name
                c.value = entry.sensitive ? nil : entry.value
                c.isSensitive = entry.sensitive
                c.readOnly = entry.readOnly
                c.configSource = entry.source
                c.isDefault = entry.source == ConfigSource.defaultConfig
                c.synonyms = request.includeSynonyms ? entry.synonyms.map { synonym in
                    var s = DescribeConfigsResponse.DescribeConfigsSynonym()
                    s.name = synonym.name
                    s.value = entry.sensitive ? nil : synonym.value
                    s.source = synonym.source
                    return s
                } : []
                return c
            }
            return result
        }
        return .now(response)
    }

    func alterConfigs(_ request: AlterConfigsRequest, _ context: RequestContext) throws -> Reply<AlterConfigsResponse> {
        let image = controller.currentImage
        let results = request.resources.map { resource in
            // AlterConfigs replaces the whole set: keys not named go back to their defaults.
            let current = resource.resourceType == ConfigResourceType.broker
                ? image.brokerConfigs[resource.resourceName] ?? [:]
                : image.topic(named: resource.resourceName)?.configs ?? [:]
            var changes: [(key: String, value: String?)] = resource.configs.map { ($0.name, $0.value) }
            for key in current.keys where !resource.configs.contains(where: { $0.name == key }) { changes.append((key, nil)) }
            return alter(resource.resourceType, resource.resourceName, changes, validateOnly: request.validateOnly)
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
        let image = controller.currentImage
        let results = request.resources.map { resource in
            let current = resource.resourceType == ConfigResourceType.broker
                ? image.brokerConfigs[resource.resourceName] ?? [:]
                : image.topic(named: resource.resourceName)?.configs ?? [:]
            let future: EventLoopFuture<(Int16, String?)>
            switch Self.resolve(resource.configs, type: resource.resourceType, current: current) {
            case .success(let changes):
                future = alter(resource.resourceType, resource.resourceName, changes, validateOnly: request.validateOnly)
            case .failure(let refusal):
                future = context.eventLoop.makeSucceededFuture((refusal.code.rawValue, refusal.message))
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

    struct ConfigRefusal: Error {
        var code: ErrorCode
        var message: String
    }

    /// Turns IncrementalAlterConfigs operations (0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT) into the values to
    /// store. APPEND and SUBTRACT work on list configs only, starting from the stored value or Kafka's default.
    static func resolve(_ operations: [IncrementalAlterConfigsRequest.AlterableConfig], type: Int8,
                        current: [String: String]) -> Result<[(key: String, value: String?)], ConfigRefusal> {
        var values = current
        var touched: [String] = []
        for operation in operations {
            touched.append(operation.name)
            switch operation.configOperation {
            case 0: values[operation.name] = operation.value ?? ""
            case 1: values[operation.name] = nil
            case 2, 3:
                let verb = operation.configOperation == 2 ? "APPEND" : "SUBTRACT"
                guard type == ConfigResourceType.topic, let definition = TopicConfigCatalog.byName[operation.name],
                      definition.kind == .list else {
                    return .failure(ConfigRefusal(code: .invalidConfig,
                                                  message: "Can't \(verb) to key \(operation.name) because its type is not LIST."))
                }
                var items = TopicConfigCatalog.listItems(values[operation.name] ?? definition.defaultValue ?? "")
                let given = TopicConfigCatalog.listItems(operation.value ?? "")
                if operation.configOperation == 2 {
                    for item in given where !items.contains(item) { items.append(item) }
                } else {
                    items.removeAll { given.contains($0) }
                }
                values[operation.name] = items.joined(separator: ",")
            default:
                return .failure(ConfigRefusal(code: .invalidRequest,
                                              message: "Unknown config operation \(operation.configOperation) for \(operation.name)"))
            }
        }
        var seen = Set<String>()
        return .success(touched.filter { seen.insert($0).inserted }.map { ($0, values[$0]) })
    }

    private func alter(_ type: Int8, _ name: String, _ changes: [(key: String, value: String?)],
                       validateOnly: Bool) -> EventLoopFuture<(Int16, String?)> {
        switch type {
        case ConfigResourceType.topic:
            return controller.alterTopicConfigs(name, changes, validateOnly: validateOnly).map { ($0.0.rawValue, $0.1) }
        case ConfigResourceType.broker:
            guard name.isEmpty || Int32(name) != nil else {
                return controllerLoop.makeSucceededFuture((ErrorCode.invalidRequest.rawValue, "broker resource \(name) is not a broker id"))
            }
            return controller.alterBrokerConfigs(name, changes, validateOnly: validateOnly).map { ($0.0.rawValue, $0.1) }
        default:
            return controllerLoop.makeSucceededFuture((ErrorCode.invalidRequest.rawValue, "unsupported resource type \(type)"))
        }
    }
}
