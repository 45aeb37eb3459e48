import CRdKafka
import CrucibleRdKafka
import CrucibleWorkload

extension RdKafkaConfig {
    /// Checks a driver's producer and consumer properties against librdkafka before anything starts, so a bad
    /// value exits 2 naming the file and key instead of failing mid-run.
    static func validate(_ driver: Driver, file: String) throws -> [String] {
        var warnings: [String] = []
        for role in [ClientProperties.Role.producer, .consumer] {
            let mapped = ClientProperties.map(driver, role: role)
            warnings += mapped.warnings.map { "\(file): \($0)" }
            let conf = try make(mapped.properties, source: "\(file) \(role.rawValue)Config", warnings: &warnings)
            rd_kafka_conf_destroy(conf)
        }
        return warnings
    }
}

/// Checks made before a benchmark starts anything.
public enum BenchValidation {
    /// Warnings for a driver's client properties (Java-only keys dropped, keys librdkafka does not know); throws
    /// `ClientConfigError` naming the file and key for a value librdkafka refuses.
    public static func clientWarnings(_ driver: Driver, file: String) throws -> [String] {
        try RdKafkaConfig.validate(driver, file: file)
    }
}

