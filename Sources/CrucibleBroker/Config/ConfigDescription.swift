import CrucibleController

/// Kafka's config sources (DescribeConfigs v1+).
enum ConfigSource {
    static let dynamicTopic: Int8 = 1
    static let dynamicBroker: Int8 = 2
    static let dynamicDefaultBroker: Int8 = 3
    static let staticBroker: Int8 = 4
    static let defaultConfig: Int8 = 5
}

/// One config as DescribeConfigs reports it: its value, where that comes from, and every place it could come from
/// in order of precedence (Kafka's synonyms).
struct DescribedConfig {
    var name: String
    var value: String?
    var source: Int8
    var synonyms: [(name: String, value: String?, source: Int8)]
    var readOnly = false
    var sensitive = false
}

/// Where a topic's configs come from: its own overrides, then each broker synonym as set dynamically for this
/// broker, dynamically cluster-wide, or in server.properties, then Kafka's default.
struct ConfigSources {
    let broker: BrokerConfig
    let image: MetadataImage
    let nodeId: Int32

    func describeTopic(_ overrides: [String: String]) -> [DescribedConfig] {
        TopicConfigCatalog.all.map { definition in
            var synonyms: [(name: String, value: String?, source: Int8)] = []
            if let value = overrides[definition.name] { synonyms.append((definition.name, value, ConfigSource.dynamicTopic)) }
            for key in definition.brokerSynonyms { synonyms += brokerSynonyms(key, topicKey: definition.name) }
            synonyms.append((definition.brokerSynonyms.first ?? definition.name, definition.defaultValue, ConfigSource.defaultConfig))
            let first = synonyms[0]
            return DescribedConfig(name: definition.name, value: converted(first.value, from: first.name, to: definition.name),
                                   source: first.source, synonyms: synonyms,
                                   sensitive: definition.kind == .password)
        }
    }

    /// Broker configs: the dynamic ones (this broker's, then cluster-wide), then those of server.properties.
    func describeBroker(resource: String) -> [DescribedConfig] {
        var keys = Set(broker.staticProperties.keys)
        keys.formUnion(image.brokerConfigs[resource]?.keys ?? [:].keys)
        keys.formUnion(image.brokerConfigs[""]?.keys ?? [:].keys)
        return keys.sorted().compactMap { key in
            let synonyms = brokerSynonyms(key, topicKey: nil, resource: resource)
            guard let first = synonyms.first else { return nil }
            return DescribedConfig(name: key, value: first.value, source: first.source, synonyms: synonyms,
                                   readOnly: !DynamicBrokerConfig.keys.contains(key),
                                   sensitive: Self.isSensitive(key))
        }
    }

    /// Kafka's PASSWORD-typed keys: never sent back (passwords, JAAS lines, inline private keys).
    static func isSensitive(_ key: String) -> Bool {
        key.contains("password") || key.hasSuffix("sasl.jaas.config") || key.hasSuffix("ssl.keystore.key")
    }

    private func brokerSynonyms(_ key: String, topicKey: String?,
                                resource: String? = nil) -> [(name: String, value: String?, source: Int8)] {
        var found: [(name: String, value: String?, source: Int8)] = []
        let own = resource ?? String(nodeId)
        if !own.isEmpty, let value = image.brokerConfigs[own]?[key] { found.append((key, value, ConfigSource.dynamicBroker)) }
        if let value = image.brokerConfigs[""]?[key] { found.append((key, value, ConfigSource.dynamicDefaultBroker)) }
        if let value = broker.staticProperties[key] { found.append((key, value, ConfigSource.staticBroker)) }
        return found
    }

    /// A synonym in hours or minutes gives a topic value in milliseconds (`log.retention.hours` for
    /// `retention.ms`).
    private func converted(_ value: String?, from key: String, to topicKey: String) -> String? {
        guard let value, key != topicKey, topicKey.hasSuffix(".ms"), let number = Int64(value) else { return value }
        if key.hasSuffix(".hours") { return String(number < 0 ? number : number * 3_600_000) }
        if key.hasSuffix(".minutes") { return String(number < 0 ? number : number * 60_000) }
        return value
    }
}
