import CrucibleBench
@testable import CrucibleWorkload
import Foundation
import XCTest

/// OMB's workload and driver files read unchanged, with OMB's defaults; bad files refused naming file and key.
final class WorkloadFileTests: XCTestCase {
    static let omb = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/omb-workloads")

    func files(_ folder: String) throws -> [String] {
        let dir = Self.omb.appendingPathComponent(folder)
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
            .map { dir.appendingPathComponent($0).path }
    }

    func testEveryOMBWorkloadLoadsWithOMBsMeaning() throws {
        let paths = try files("workloads")
        XCTAssertEqual(paths.count, 9)
        for path in paths {
            let (workload, warnings) = try Workload.load(path: path)
            XCTAssertEqual(warnings, [], path)
            XCTAssertGreaterThan(workload.topics, 0)
            XCTAssertEqual(workload.warmupDurationMinutes, 1, "OMB's default warm-up")
            XCTAssertEqual(workload.backlogDrainRatio, 1, "OMB's default drain ratio")
            if !workload.useRandomizedPayloads {
                let size = try FileManager.default.attributesOfItem(atPath: workload.payloadFile!)[.size] as? Int
                XCTAssertEqual(size, workload.messageSize)
            }
        }
        let (backlog, _) = try Workload.load(path: paths.first { $0.contains("200k-backlog") }!)
        XCTAssertEqual(backlog.consumerBacklogSizeGB, 512)
        XCTAssertEqual(backlog.randomBytesRatio, 0.5)
        XCTAssertEqual(backlog.keyDistributor, .noKey)
        XCTAssertEqual(backlog.totalConsumers, 4)
        let (search, _) = try Workload.load(path: paths.first { $0.contains("3producers") }!)
        XCTAssertTrue(search.findsMaxRate)
        XCTAssertEqual(search.totalProducers, 3)
    }

    func testEveryOMBDriverLoadsAndLibrdkafkaTakesItsProperties() throws {
        let paths = try files("driver-kafka")
        XCTAssertEqual(paths.count, 14)
        for path in paths {
            let (driver, warnings) = try Driver.load(path: path)
            XCTAssertEqual(warnings, [], path)
            XCTAssertEqual(driver.replicationFactor, 3)
            XCTAssertEqual(driver.topicConfig.first, Driver.Property("min.insync.replicas", "2"))
            _ = try BenchValidation.clientWarnings(driver, file: path)
        }
        let (gzip, _) = try Driver.load(path: paths.first { $0.hasSuffix("kafka-compression-gzip.yaml") }!)
        XCTAssertEqual(gzip.compressionType, "gzip")
        XCTAssertEqual(gzip.acks, "all")
        let (sync, _) = try Driver.load(path: paths.first { $0.hasSuffix("kafka-sync.yaml") }!)
        XCTAssertEqual(sync.topicConfig.map(\.key), ["min.insync.replicas", "flush.messages", "flush.ms"])
        // Java-only keys are dropped by name; a value beyond librdkafka's range is capped, said so.
        let (throughput, _) = try Driver.load(path: paths.first { $0.hasSuffix("kafka-throughput.yaml") }!)
        let mapped = ClientProperties.map(throughput, role: .producer)
        XCTAssertTrue(mapped.warnings.contains { $0.contains("default.api.timeout.ms") })
        XCTAssertEqual(mapped.properties.first { $0.key == "request.timeout.ms" }?.value, "900000")
        XCTAssertFalse(mapped.properties.contains { $0.key == "bootstrap.servers" }, "the run decides where to connect")
    }

    func testEveryWorkloadPairsWithEveryDriver() throws {
        let plan = try BenchPlan.make(files: try files("workloads"), drivers: try files("driver-kafka"))
        XCTAssertEqual(plan.entries.count, 9 * 14)
        XCTAssertEqual(Set(plan.entries.map { "\($0.workloadFile)|\($0.driverFile!)" }).count, 126)
    }

    func testJavaSecurityPropertiesMapToLibrdkafka() {
        var driver = Driver.defaultDriver
        driver.consumerConfig = []
        driver.commonConfig = [
            .init("security.protocol", "SASL_SSL"), .init("sasl.mechanism", "SCRAM-SHA-512"),
            .init("sasl.jaas.config", #"org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";"#),
            .init("ssl.truststore.type", "PEM"), .init("ssl.truststore.location", "/ca.pem"),
            .init("ssl.keystore.type", "PEM"), .init("ssl.keystore.location", "/me.pem"),
            .init("ssl.endpoint.identification.algorithm", ""),
        ]
        let mapped = ClientProperties.map(driver, role: .consumer).properties
        XCTAssertEqual(mapped, [.init("security.protocol", "SASL_SSL"), .init("sasl.mechanisms", "SCRAM-SHA-512"),
                                .init("sasl.username", "u"), .init("sasl.password", "p"), .init("ssl.ca.location", "/ca.pem"),
                                .init("ssl.certificate.location", "/me.pem"), .init("ssl.key.location", "/me.pem"),
                                .init("ssl.endpoint.identification.algorithm", "none")])
        driver.commonConfig = [.init("ssl.keystore.type", "PKCS12"), .init("ssl.keystore.location", "/me.p12")]
        XCTAssertEqual(ClientProperties.map(driver, role: .consumer).properties, [.init("ssl.keystore.location", "/me.p12")])
    }

    func testJavaPropertiesMapToLibrdkafka() throws {
        var driver = Driver.defaultDriver
        driver.producerConfig = [.init("buffer.memory", "33554432"), .init("delivery.timeout.ms", "120000"),
                                 .init("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer")]
        let mapped = ClientProperties.map(driver, role: .producer)
        XCTAssertEqual(mapped.properties, [.init("queue.buffering.max.kbytes", "32768"), .init("queue.buffering.max.kbytes", "32768"),
                                           .init("message.timeout.ms", "120000")])
        XCTAssertEqual(ClientProperties.map(Driver.defaultDriver, role: .producer).properties.first { $0.key == "queue.buffering.max.kbytes" }?.value,
                       "32768", "Java's buffer.memory default, not librdkafka's 1 GiB")
        driver.producerConfig = [.init("buffer.memory", "1048576")]
        XCTAssertEqual(ClientProperties.map(driver, role: .producer).properties.last { $0.key == "queue.buffering.max.kbytes" }?.value, "1024")
        XCTAssertFalse(ClientProperties.map(driver, role: .consumer).properties.contains { $0.key == "queue.buffering.max.kbytes" })
        XCTAssertEqual(mapped.warnings.count, 1)
        XCTAssertTrue(mapped.warnings[0].contains("key.serializer"))
    }

    func write(_ text: String, name: String = "w.yaml") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crucible-workload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    let valid = """
        name: t
        topics: 1
        partitionsPerTopic: 2
        messageSize: 10
        useRandomizedPayloads: true
        randomBytesRatio: 0.3
        randomizedPayloadPoolSize: 4
        subscriptionsPerTopic: 1
        consumerPerSubscription: 1
        producersPerTopic: 1
        producerRate: 100
        testDurationMinutes: 1
        """

    func testBadValuesAreRefusedNamingFileAndKey() throws {
        let cases: [(String, String, String)] = [
            ("messageSize: 10", "messageSize: -5", "messageSize"),
            ("producerRate: 100", "producerRate: fast", "producerRate"),
            ("randomBytesRatio: 0.3", "randomBytesRatio: 1.5", "randomBytesRatio"),
            ("topics: 1", "topics: 0", "topics"),
            ("topics: 1\n", "", "topics"),
            ("producerRate: 100", "producerRate: 0\nconsumerBacklogSizeGB: 1", "consumerBacklogSizeGB"),
            ("name: t", "name: t\nkeyDistributor: SOMETIMES", "keyDistributor"),
            ("name: t", "name: t\ncrucible:\n  rateFraction: 2", "rateFraction"),
            ("name: t", "name: t\ncrucible:\n  colour: blue", "crucible.colour"),
        ]
        for (find, replace, key) in cases {
            let path = try write(valid.replacingOccurrences(of: find, with: replace))
            XCTAssertThrowsError(try Workload.load(path: path), key) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix(path), text)
                XCTAssertTrue(text.contains(key), "\(key): \(text)")
            }
        }
    }

    func testUnknownKeysWarnAndCrucibleKeysRead() throws {
        let path = try write(valid + "\ncolour: blue\ncrucible:\n  rateFraction: 0.5\n  killLeaderEverySeconds: 15\n")
        let (workload, warnings) = try Workload.load(path: path)
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains("colour"))
        XCTAssertEqual(workload.crucible.rateFraction, 0.5)
        XCTAssertEqual(workload.crucible.killLeaderEverySeconds, 15)
    }

    func testRandomizedPayloadsAreRandomThenZeros() throws {
        let (workload, _) = try Workload.load(path: try write(valid))
        let pool = try PayloadPool(workload: workload)
        XCTAssertEqual(pool.payloads.count, 4)
        for payload in pool.payloads {
            XCTAssertEqual(payload.count, 10)
            XCTAssertEqual(Array(payload[3...]), [UInt8](repeating: 0, count: 7))
        }
        XCTAssertNotEqual(pool.payloads[0], pool.payloads[1])
    }

    func testKeyDistributors() {
        var none = KeyDistributor(.noKey, seed: 1)
        XCTAssertNil(none.nextKey())
        var roundRobin = KeyDistributor(.keyRoundRobin, seed: 1)
        let keys = (0..<(KeyDistributor.uniqueKeys + 1)).map { _ in roundRobin.nextKey()! }
        XCTAssertEqual(keys.first, keys.last, "round robin comes back to the first key after all of them")
        XCTAssertEqual(Set(keys).count, KeyDistributor.uniqueKeys)
        var random = KeyDistributor(.randomNano, seed: 1)
        XCTAssertGreaterThan(Set((0..<1_000).map { _ in random.nextKey()! }).count, 900)
    }

    func testSetFilesNameTheirRunsRelativeToThemselves() throws {
        let set = try write("""
            name: s
            runs:
              - workload: a.yaml
                drivers: [d1.yaml, d2.yaml]
              - workload: b.yaml
            """, name: "set.yaml")
        let dir = URL(fileURLWithPath: set).deletingLastPathComponent().path
        let plan = try BenchPlan.make(files: [set], drivers: ["ignored.yaml"])
        XCTAssertEqual(plan.entries, [
            .init(workloadFile: dir + "/a.yaml", driverFile: dir + "/d1.yaml"),
            .init(workloadFile: dir + "/a.yaml", driverFile: dir + "/d2.yaml"),
            .init(workloadFile: dir + "/b.yaml", driverFile: nil),
        ])
        let bad = try write("runs:\n  - workload: a.yaml\n    driver: d.yaml\n", name: "bad.yaml")
        XCTAssertThrowsError(try BenchPlan.make(files: [bad], drivers: [])) { XCTAssertTrue("\($0)".contains("runs[0].driver")) }
    }

    func testCrucibleOwnWorkloadsLoad() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for set in ["default.yaml", "single-node.yaml"] {
            let plan = try BenchPlan.make(files: [repo.appendingPathComponent("Workloads/\(set)").path], drivers: [])
            XCTAssertFalse(plan.entries.isEmpty)
            for entry in plan.entries {
                let (_, warnings) = try Workload.load(path: entry.workloadFile)
                XCTAssertEqual(warnings, [])
                let (driver, driverWarnings) = try Driver.load(path: entry.driverFile!)
                XCTAssertEqual(driverWarnings, [])
                _ = try BenchValidation.clientWarnings(driver, file: entry.driverFile!)
            }
        }
    }
}
