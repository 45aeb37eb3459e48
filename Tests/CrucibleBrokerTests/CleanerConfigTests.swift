import XCTest
@testable import CrucibleBroker

/// The cleaner's broker keys with Kafka's defaults, topic overrides over them, and bad values refused by name.
final class CleanerConfigTests: XCTestCase {
    func properties(_ pairs: [String: String]) -> Properties {
        var properties = Properties()
        for (key, value) in pairs { properties.set(key, value) }
        return properties
    }

    func testDefaultsOverridesAndTopicConfigs() throws {
        let defaults = try BrokerConfig(properties([:]))
        XCTAssertTrue(defaults.logCleanerEnable)
        XCTAssertEqual(defaults.logCleanerBackoffMs, 15_000)
        XCTAssertEqual(defaults.log.minCleanableDirtyRatio, 0.5)
        XCTAssertEqual(defaults.log.minCompactionLagMs, 0)
        XCTAssertEqual(defaults.log.deleteRetentionMs, 86_400_000)
        XCTAssertEqual(defaults.log.maxCompactionLagMs, .max)
        let broker = try BrokerConfig(properties([
            "log.cleaner.enable": "false", "log.cleaner.backoff.ms": "50", "log.cleaner.min.cleanable.ratio": "0.1",
            "log.cleaner.min.compaction.lag.ms": "7", "log.cleaner.delete.retention.ms": "9",
            "log.cleanup.policy": "compact,delete",
        ]))
        XCTAssertFalse(broker.logCleanerEnable)
        XCTAssertEqual(broker.logCleanerBackoffMs, 50)
        XCTAssertTrue(broker.log.compacts && broker.log.deletes)
        XCTAssertTrue(broker.unknownKeys.isEmpty)
        let log = TopicConfig(["cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01",
                               "min.compaction.lag.ms": "100", "max.compaction.lag.ms": "200",
                               "delete.retention.ms": "300", "segment.ms": "400"]).logConfig(defaults: broker)
        XCTAssertTrue(log.compacts)
        XCTAssertFalse(log.deletes, "compact alone: retention deletes no segment")
        XCTAssertEqual([log.minCompactionLagMs, log.maxCompactionLagMs, log.deleteRetentionMs, log.segmentMs],
                       [100, 200, 300, 400])
        XCTAssertEqual(log.minCleanableDirtyRatio, 0.01)
        XCTAssertEqual(TopicConfig().logConfig(defaults: broker).deleteRetentionMs, 9, "the broker default")
    }

    func testBadCleanerValuesAreRefusedNamingTheKey() {
        for (key, value) in [("log.cleanup.policy", "shred"), ("log.cleanup.policy", ""),
                             ("log.cleaner.min.cleanable.ratio", "1.5"), ("log.cleaner.min.cleanable.ratio", "half"),
                             ("log.cleaner.backoff.ms", "-1"), ("log.cleaner.enable", "maybe"),
                             ("log.cleaner.delete.retention.ms", "-5"), ("log.cleaner.max.compaction.lag.ms", "0")] {
            XCTAssertThrowsError(try BrokerConfig(properties([key: value])), "\(key)=\(value)") { error in
                XCTAssertEqual((error as? ConfigError)?.key, key, "\(key)=\(value)")
            }
        }
    }
}
