import XCTest
@testable import CrucibleBroker

/// The coordinator's and `__consumer_offsets`' keys: Kafka's defaults, overrides, and bad values refused by name.
final class GroupConfigTests: XCTestCase {
    private func config(_ pairs: [String: String]) throws -> BrokerConfig {
        var properties = Properties()
        for (key, value) in pairs { properties.set(key, value) }
        return try BrokerConfig(properties)
    }

    func testDefaultsAndOverrides() throws {
        let defaults = try config([:]).groups
        XCTAssertEqual(defaults.offsetsTopicPartitions, 50)
        XCTAssertEqual(defaults.offsetsTopicReplicationFactor, 3)
        XCTAssertEqual(defaults.coordinator.initialRebalanceDelayMs, 3_000)
        XCTAssertEqual(defaults.coordinator.minSessionTimeoutMs, 6_000)
        XCTAssertEqual(defaults.coordinator.maxSessionTimeoutMs, 1_800_000)
        XCTAssertEqual(defaults.coordinator.offsetsRetentionMs, 7 * 24 * 3_600_000)
        let broker = try config(["offsets.topic.num.partitions": "5", "offsets.topic.replication.factor": "1",
                                 "group.initial.rebalance.delay.ms": "0", "offsets.retention.minutes": "2",
                                 "group.min.session.timeout.ms": "100", "group.max.size": "3"])
        XCTAssertEqual(broker.groups.offsetsTopicPartitions, 5)
        XCTAssertEqual(broker.groups.offsetsTopicReplicationFactor, 1)
        XCTAssertEqual(broker.groups.coordinator.initialRebalanceDelayMs, 0)
        XCTAssertEqual(broker.groups.coordinator.offsetsRetentionMs, 120_000)
        XCTAssertEqual(broker.groups.coordinator.minSessionTimeoutMs, 100)
        XCTAssertEqual(broker.groups.coordinator.maxSize, 3)
        XCTAssertTrue(broker.unknownKeys.isEmpty, "group keys are known: \(broker.unknownKeys)")
    }

    func testBadValuesAreRefusedNamingTheKey() {
        for (key, value) in [("offsets.topic.num.partitions", "0"), ("offsets.topic.replication.factor", "many"),
                             ("group.initial.rebalance.delay.ms", "-1"), ("offsets.retention.minutes", "0"),
                             ("group.max.size", "0"), ("group.min.session.timeout.ms", "2000000")] {
            XCTAssertThrowsError(try config([key: value]), "\(key)=\(value)") { error in
                XCTAssertEqual((error as? ConfigError)?.key, key, "\(key)=\(value)")
            }
        }
    }
}
