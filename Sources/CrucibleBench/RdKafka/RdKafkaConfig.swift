import CRdKafka
import Foundation
import CrucibleWorkload

/// A client property librdkafka refused: the value is invalid, named with the driver file and key.
public struct ClientConfigError: Error, CustomStringConvertible {
    public let description: String
}

/// librdkafka configuration objects built from a driver's (mapped) properties. Unknown keys are a warning naming
/// them (a Java property with no librdkafka twin); an invalid value is an error naming the key.
enum RdKafkaConfig {
    static var version: String { String(cString: rd_kafka_version_str()) }

    static func make(_ properties: [Driver.Property], source: String, warnings: inout [String]) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else { throw ClientConfigError(description: "librdkafka: cannot allocate a configuration") }
        var error = [CChar](repeating: 0, count: 512)
        for property in properties {
            let result = rd_kafka_conf_set(conf, property.key, property.value, &error, error.count)
            switch result {
            case RD_KAFKA_CONF_OK: continue
            case RD_KAFKA_CONF_UNKNOWN:
                warnings.append("\(source): \(property.key) is not a librdkafka property (a Java-only client setting?); ignored")
            default:
                rd_kafka_conf_destroy(conf)
                throw ClientConfigError(description: "\(source): \(property.key)=\(property.value): \(message(error))")
            }
        }
        return conf
    }

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

    static func set(_ conf: OpaquePointer, _ key: String, _ value: String) throws {
        var error = [CChar](repeating: 0, count: 512)
        guard rd_kafka_conf_set(conf, key, value, &error, error.count) == RD_KAFKA_CONF_OK else {
            throw ClientConfigError(description: "librdkafka: \(key)=\(value): \(message(error))")
        }
    }
}

/// Microseconds since the epoch: one clock for send times carried in headers and for the receive time, so
/// end-to-end latency is exact when producers and consumers share a host.
@inline(__always) func nowMicros() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1_000
}

/// Sleeps until the given microsecond time (returns at once if it has passed).
@inline(__always) func sleep(untilMicros target: Int64) {
    let wait = target - nowMicros()
    guard wait > 0 else { return }
    var spec = timespec(tv_sec: Int(wait / 1_000_000), tv_nsec: Int(wait % 1_000_000) * 1_000)
    nanosleep(&spec, nil)
}

/// Checks made before a benchmark starts anything.
public enum BenchValidation {
    /// Warnings for a driver's client properties (Java-only keys dropped, keys librdkafka does not know); throws
    /// `ClientConfigError` naming the file and key for a value librdkafka refuses.
    public static func clientWarnings(_ driver: Driver, file: String) throws -> [String] {
        try RdKafkaConfig.validate(driver, file: file)
    }
}

/// librdkafka's error text from the buffer it wrote into (NUL-terminated).
func message(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
