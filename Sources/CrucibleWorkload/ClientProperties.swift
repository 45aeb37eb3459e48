import CrucibleSecurity

/// Java client properties (what OMB's driver files hold) turned into librdkafka's: most keys are the same in both
/// clients; some have a librdkafka equivalent under another name or unit; some only mean something to the Java
/// client and are dropped with a warning naming them, so nobody believes a setting took effect when it did not.
public enum ClientProperties {
    public enum Role: String, Sendable { case producer, consumer }

    public struct Mapped: Sendable, Equatable {
        public var properties: [Driver.Property] = []
        public var warnings: [String] = []
    }

    /// Keys the benchmark itself decides: where to connect and which group a consumer is in.
    static let ownedByTheRun: Set<String> = ["bootstrap.servers", "group.id", "client.id"]

    /// Java-only keys, and why each can go.
    static let javaOnly: [String: String] = [
        "default.api.timeout.ms": "the Java consumer's blocking-call timeout; librdkafka's calls take their own",
        "key.serializer": "Java serializers; the benchmark hands librdkafka bytes",
        "value.serializer": "Java serializers; the benchmark hands librdkafka bytes",
        "key.deserializer": "Java deserializers; librdkafka returns bytes",
        "value.deserializer": "Java deserializers; librdkafka returns bytes",
        "max.block.ms": "how long Java's send() blocks on a full buffer; the benchmark waits itself and counts the delay",
        "max.poll.records": "the Java consumer's batch size per poll; librdkafka has no such cap",
        "delivery.timeout.ms": "Java's name; mapped to message.timeout.ms",
        "buffer.memory": "Java's name; mapped to queue.buffering.max.kbytes",
    ]

    /// Same meaning, different name (and unit) in librdkafka.
    static func renamed(_ key: String, _ value: String) -> Driver.Property? {
        switch key {
        case "buffer.memory":
            guard let bytes = Int(value) else { return Driver.Property("queue.buffering.max.kbytes", value) }
            return Driver.Property("queue.buffering.max.kbytes", String(max(1, bytes / 1024)))
        case "delivery.timeout.ms": return Driver.Property("message.timeout.ms", value)
        default: return nil
        }
    }

    /// Java's security keys in librdkafka's names: a JAAS line becomes a username and password, PEM truststores and
    /// keystores become librdkafka's CA and certificate files (a PKCS12 keystore keeps its name; librdkafka reads it).
    static func securityRenamed(_ property: Driver.Property, all: [Driver.Property]) -> [Driver.Property]? {
        let type = { (key: String) in all.last { $0.key == key }?.value.uppercased() ?? "PEM" }
        switch property.key {
        case "sasl.mechanism": return [Driver.Property("sasl.mechanisms", property.value)]
        case "sasl.jaas.config":
            guard let jaas = try? JaasConfig(parsing: property.value, key: property.key) else { return nil }
            return [jaas.options["username"].map { Driver.Property("sasl.username", $0) },
                    jaas.options["password"].map { Driver.Property("sasl.password", $0) }].compactMap { $0 }
        case "ssl.truststore.location" where type("ssl.truststore.type") == "PEM":
            return [Driver.Property("ssl.ca.location", property.value)]
        case "ssl.truststore.certificates": return [Driver.Property("ssl.ca.pem", property.value)]
        case "ssl.keystore.location" where type("ssl.keystore.type") == "PEM":
            return [Driver.Property("ssl.certificate.location", property.value), Driver.Property("ssl.key.location", property.value)]
        case "ssl.keystore.certificate.chain": return [Driver.Property("ssl.certificate.pem", property.value)]
        case "ssl.keystore.key": return [Driver.Property("ssl.key.pem", property.value)]
        case "ssl.truststore.type", "ssl.keystore.type", "ssl.truststore.password", "ssl.enabled.protocols", "ssl.protocol":
            return []
        case "ssl.endpoint.identification.algorithm" where property.value.isEmpty:
            return [Driver.Property(property.key, "none")]
        default: return nil
        }
    }

    /// Java accepts values librdkafka's ranges do not (OMB's throughput driver sets `request.timeout.ms=1200000`;
    /// librdkafka allows at most 900000): such values are capped at librdkafka's limit, with a warning.
    static let librdkafkaMaximum: [String: Int] = ["request.timeout.ms": 900_000, "socket.timeout.ms": 300_000]

    /// Java's `buffer.memory` default, which every OMB producer has unless its driver says otherwise. librdkafka's
    /// own default queue is 1 GiB per producer: a hundred producers outrunning a cluster queued 12 GB and spent
    /// the run faulting in pages instead of sending.
    static let javaProducerDefaults = [Driver.Property("queue.buffering.max.kbytes", "32768")]

    /// Java's defaults where librdkafka's differ, then the driver's `commonConfig`, then the role's own properties
    /// (later keys win, as in OMB where the role's properties are applied over the common ones).
    public static func map(_ driver: Driver, role: Role) -> Mapped {
        let own = role == .producer ? driver.producerConfig : driver.consumerConfig
        var mapped = Mapped()
        if role == .producer { mapped.properties = javaProducerDefaults }
        for property in driver.commonConfig + own {
            if ownedByTheRun.contains(property.key) { continue }
            if let limit = librdkafkaMaximum[property.key], let value = Int(property.value), value > limit {
                mapped.warnings.append("\(driver.name) \(role.rawValue) property \(property.key)=\(value) is above librdkafka's maximum; using \(limit)")
                mapped.properties.append(Driver.Property(property.key, String(limit)))
            } else if let renamed = renamed(property.key, property.value) {
                mapped.properties.append(renamed)
            } else if let security = securityRenamed(property, all: driver.commonConfig + own) {
                mapped.properties += security
            } else if let reason = javaOnly[property.key] {
                mapped.warnings.append("\(driver.name) \(role.rawValue) property \(property.key) is Java-only (\(reason)); ignored")
            } else {
                mapped.properties.append(property)
            }
        }
        return mapped
    }
}

extension ClientSecurity {
    /// The security settings among client properties (the last value of a key wins, as in a properties file).
    public init(_ properties: [Driver.Property]) throws {
        try self.init(properties: Dictionary(properties.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last }))
    }
}

extension ClientProperties {
    /// Client properties for librdkafka as given, except Java's security keys, which get librdkafka's names.
    public static func librdkafkaSecurity(_ properties: [Driver.Property]) -> [Driver.Property] {
        properties.flatMap { securityRenamed($0, all: properties) ?? [$0] }
    }
}
