import XCTest
@testable import CrucibleBroker

/// The follower's fetch keys (`replica.fetch.*`) with Kafka's defaults, and bad values refused by name.
final class ReplicaFetchConfigTests: XCTestCase {
    func config(_ pairs: [String: String]) throws -> BrokerConfig {
        var properties = Properties()
        for (key, value) in pairs { properties.set(key, value) }
        return try BrokerConfig(properties)
    }

    func testDefaultsAreKafkasAndOverridesTakeEffect() throws {
        let defaults = try config([:])
        XCTAssertEqual(defaults.replicaFetchMaxBytes, 1_048_576)
        XCTAssertEqual(defaults.replicaFetchResponseMaxBytes, 10_485_760)
        XCTAssertEqual(defaults.replicaFetchWaitMaxMs, 500)
        let set = try config(["replica.fetch.max.bytes": "1", "replica.fetch.response.max.bytes": "4096",
                              "replica.fetch.wait.max.ms": "20"])
        XCTAssertEqual([set.replicaFetchMaxBytes, set.replicaFetchResponseMaxBytes, set.replicaFetchWaitMaxMs], [1, 4096, 20])
        XCTAssertTrue(set.unknownKeys.isEmpty)
    }

    func testBadValuesAreRefusedNamingTheKey() {
        for (pairs, key) in [(["replica.fetch.max.bytes": "-1"], "replica.fetch.max.bytes"),
                             (["replica.fetch.response.max.bytes": "lots"], "replica.fetch.response.max.bytes"),
                             (["replica.fetch.max.bytes": "4294967296"], "replica.fetch.max.bytes"),
                             // Kafka's rule: a follower must not wait on an idle leader past the lag limit.
                             (["replica.fetch.wait.max.ms": "3000", "replica.lag.time.max.ms": "3000"], "replica.fetch.wait.max.ms")] {
            XCTAssertThrowsError(try config(pairs), "\(pairs)") { error in
                XCTAssertEqual((error as? ConfigError)?.key, key, "\(pairs)")
            }
        }
    }
}
