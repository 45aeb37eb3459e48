import CRdKafka
import Foundation
import CrucibleWorkload

/// A client property librdkafka refused: the value is invalid, named with the driver file and key.
public struct ClientConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// librdkafka configuration objects built from a driver's (mapped) properties. Unknown keys are a warning naming
/// them (a Java property with no librdkafka twin); an invalid value is an error naming the key.
public enum RdKafkaConfig {
    public static var version: String { String(cString: rd_kafka_version_str()) }

    public static func make(_ properties: [Driver.Property], source: String, warnings: inout [String]) throws -> OpaquePointer {
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
                throw ClientConfigError(description: "\(source): \(property.key)=\(property.value): \(rdKafkaText(error))")
            }
        }
        return conf
    }

    public static func set(_ conf: OpaquePointer, _ key: String, _ value: String) throws {
        var error = [CChar](repeating: 0, count: 512)
        guard rd_kafka_conf_set(conf, key, value, &error, error.count) == RD_KAFKA_CONF_OK else {
            throw ClientConfigError(description: "librdkafka: \(key)=\(value): \(rdKafkaText(error))")
        }
    }
}

/// Microseconds since the epoch: one clock for send times carried in headers and for the receive time, so
/// end-to-end latency is exact when producers and consumers share a host.
@inline(__always) public func nowMicros() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1_000
}

/// Sleeps until the given microsecond time (returns at once if it has passed).
@inline(__always) public func sleep(untilMicros target: Int64) {
    let wait = target - nowMicros()
    guard wait > 0 else { return }
    var spec = timespec(tv_sec: Int(wait / 1_000_000), tv_nsec: Int(wait % 1_000_000) * 1_000)
    nanosleep(&spec, nil)
}

/// librdkafka's error text from the buffer it wrote into (NUL-terminated).
public func rdKafkaText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
