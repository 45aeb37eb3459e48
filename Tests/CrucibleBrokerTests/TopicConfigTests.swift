import CrucibleController
import CrucibleProtocol
import XCTest
@testable import CrucibleBroker

/// Topic configs as Kafka 3.x takes them, and IncrementalAlterConfigs' list operations.
final class TopicConfigTests: XCTestCase {
    func testKafkasTopicKeysAreAcceptedAndBadValuesRefusedNamingTheKey() throws {
        for (key, value) in [("min.cleanable.dirty.ratio", "0.3"), ("max.compaction.lag.ms", "100000"),
                             ("message.format.version", "3.0-IV1"), ("cleanup.policy", "compact,delete"),
                             ("leader.replication.throttled.replicas", "0:1,1:2"), ("preallocate", "TRUE")] {
            XCTAssertNoThrow(try TopicConfigCatalog.validate(key: key, value: value), "\(key)=\(value)")
        }
        for (key, value) in [("min.cleanable.dirty.ratio", "1.5"), ("no.such.key", "1"), ("cleanup.policy", "Delete"),
                             ("segment.bytes", "13"), ("compression.type", "brotli"), ("min.insync.replicas", "0"),
                             ("leader.replication.throttled.replicas", "0-1"), ("retention.ms", "soon")] {
            XCTAssertThrowsError(try TopicConfigCatalog.validate(key: key, value: value), "\(key)=\(value)") { error in
                XCTAssertEqual((error as? ConfigError)?.key, key)
            }
        }
    }

    func testTheCatalogueIsSortedAndEveryDefaultValidates() throws {
        let names = TopicConfigCatalog.all.map(\.name)
        XCTAssertEqual(names, names.sorted())
        XCTAssertEqual(Set(names).count, names.count)
        for definition in TopicConfigCatalog.all {
            guard let value = definition.defaultValue, !value.isEmpty else { continue }
            XCTAssertNoThrow(try definition.validate(value), "\(definition.name)'s own default")
        }
    }

    func operation(_ name: String, _ op: Int8, _ value: String?) -> IncrementalAlterConfigsRequest.AlterableConfig {
        var config = IncrementalAlterConfigsRequest.AlterableConfig()
        config.name = name
        config.configOperation = op
        config.value = value
        return config
    }

    func testAppendStartsFromKafkasDefaultAndSubtractRemoves() throws {
        let topic = ConfigResourceType.topic
        let appended = try BrokerApis.resolve([operation("cleanup.policy", 2, "compact")], type: topic, current: [:]).get()
        XCTAssertEqual(appended.map(\.key), ["cleanup.policy"])
        XCTAssertEqual(appended.first?.value, "delete,compact")
        let subtracted = try BrokerApis.resolve([operation("cleanup.policy", 3, "delete")], type: topic,
                                                current: ["cleanup.policy": "delete,compact"]).get()
        XCTAssertEqual(subtracted.first?.value, "compact")
        XCTAssertEqual(try BrokerApis.resolve([operation("leader.replication.throttled.replicas", 2, "0:1,0:2"),
                                               operation("leader.replication.throttled.replicas", 3, "0:1")],
                                              type: topic, current: [:]).get().first?.value, "0:2")
        switch BrokerApis.resolve([operation("retention.ms", 2, "5")], type: topic, current: [:]) {
        case .success: XCTFail("APPEND on a LONG key")
        case .failure(let refusal): XCTAssertEqual(refusal.code, .invalidConfig)
        }
        XCTAssertEqual(try BrokerApis.resolve([operation("retention.ms", 1, nil)], type: topic,
                                              current: ["retention.ms": "5"]).get().first?.value, nil as String?)
    }
}
