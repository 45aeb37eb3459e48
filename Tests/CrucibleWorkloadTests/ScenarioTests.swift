import CrucibleSecurity
import CrucibleWorkload
import Foundation
import XCTest

/// Verification scenarios are data: every shipped file loads, a bad one is refused naming file and key, and the
/// seed alone decides the generator's operations and the nemesis plan.
final class ScenarioTests: XCTestCase {
    static let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Workloads/verify")

    func testEveryShippedScenarioLoadsWithoutWarnings() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.shipped.path).filter { $0.hasSuffix(".yaml") }
        XCTAssertGreaterThanOrEqual(files.count, 6)
        for file in files {
            let (scenario, warnings) = try Scenario.load(path: Self.shipped.appendingPathComponent(file).path)
            XCTAssertEqual(warnings, [], file)
            XCTAssertFalse(scenario.nemesis.plan(seed: 1, timeLimitSeconds: scenario.timeLimitSeconds, keys: scenario.keys).isEmpty, file)
        }
    }

    func testTheUncleanScenarioExpectsLossAndTheCleanOneValidity() throws {
        let (unclean, _) = try Scenario.load(path: Self.shipped.appendingPathComponent("unclean-election-loses-writes.yaml").path)
        XCTAssertEqual(unclean.expect.mustAppear, ["lost-write"])
        XCTAssertTrue(unclean.serverProperties.contains(Driver.Property("unclean.leader.election.enable", "true")))
        let (clean, _) = try Scenario.load(path: Self.shipped.appendingPathComponent("clean-election-keeps-writes.yaml").path)
        XCTAssertTrue(clean.expect.valid)
        XCTAssertEqual(clean.nemesis.schedule.map(\.fault), unclean.nemesis.schedule.map(\.fault))
    }

    func testTheLaggingFollowerScenarioPausesTheReplicaAnElectionTriesFirstThenKillsTheLeader() throws {
        let (scenario, _) = try Scenario.load(path: Self.shipped.appendingPathComponent("safe-lagging-follower.yaml").path)
        XCTAssertEqual(scenario.nemesis.schedule.map(\.target), [.follower, .leader, .paused, .killed])
        XCTAssertEqual(scenario.nemesis.schedule.map(\.fault), [.pause, .kill, .resume, .restart])
        XCTAssertEqual(NemesisTarget.parse("follower"), .follower)
        XCTAssertEqual(NemesisTarget.follower.description, "follower")
    }

    private func load(_ text: String) throws -> (Scenario, [String]) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("scenario-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Scenario.load(path: path)
    }

    private func assertRefused(_ text: String, naming key: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try load(text), file: file, line: line) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains(".yaml") && message.contains(key), message, file: file, line: line)
        }
    }

    func testBadScenariosAreRefusedNamingFileAndKey() {
        assertRefused("name: x\n", naming: "expect")
        assertRefused("expect: {valid: true}\nclients: {mode: sideways}\n", naming: "mode")
        assertRefused("expect: {valid: true}\ncluster: {nodes: 0}\n", naming: "nodes")
        assertRefused("expect: {valid: true}\ntopic: {replicationFactor: 4}\n", naming: "replicationFactor")
        assertRefused("expect: {valid: true}\nnemesis: {faults: [explode]}\n", naming: "faults")
        assertRefused("expect: {valid: true}\nnemesis: {schedule: [{at: 1, do: kill, target: node:7}]}\n", naming: "target")
        assertRefused("expect: {valid: true}\nnemesis: {schedule: [{at: 1, do: nap, target: one}]}\n", naming: "do")
        assertRefused("expect: {valid: true, anomalies: [lost-write]}\n", naming: "anomalies")
        assertRefused("expect: {}\n", naming: "valid")
        assertRefused("expect: {valid: true}\nworkload: {rate: -1}\n", naming: "rate")
        // A ring or a bridge shapes the network, not a kill; lossy links drop 1 to 99 packets in a hundred.
        assertRefused("expect: {valid: true}\nnemesis: {faults: [kill, partition], targets: [ring]}\n", naming: "targets")
        assertRefused("expect: {valid: true}\nnemesis: {schedule: [{at: 1, do: pause, target: bridge}]}\n", naming: "target")
        assertRefused("expect: {valid: true}\nnemesis: {faults: [lossy], lossPercent: 100}\n", naming: "lossPercent")
        assertRefused("expect: {valid: true}\nnemesis: {faults: [disk-fault], diskOperations: [read]}\n", naming: "diskOperations")
        assertRefused("expect: {valid: true}\nnemesis: {faults: [disk-fault], diskErrors: [EPERM]}\n", naming: "diskErrors")
        assertRefused("expect: {valid: true}\nnemesis: {schedule: [{at: 1, do: disk-fault, target: one, error: EAGAIN}]}\n", naming: "error")
        // A cluster described by commands: addresses as host:port, a command for every fault, no network or clock faults.
        let external = "expect: {valid: true}\ncluster:\n  external:\n    addresses: [a:9092, b:9092]\n    kill: k {node}\n"
        assertRefused(external + "nemesis: {faults: [kill]}\n", naming: "start")
        assertRefused(external + "    start: s\nnemesis: {faults: [partition]}\n", naming: "external")
        assertRefused(external + "    start: s\nnemesis: {faults: [disk-fault]}\n", naming: "external")
        assertRefused("expect: {valid: true}\ncluster:\n  external: {addresses: [nohost]}\n", naming: "addresses")
        assertRefused("expect: {valid: true}\ncluster:\n  external: {addresses: [a:1, b:2], metricsUrls: [http://a:7071/metrics]}\n",
                      naming: "metricsUrls")
        assertRefused("expect: {valid: true}\ncluster:\n  nodes: 3\n  external: {addresses: [a:1, b:2]}\n", naming: "nodes")
    }

    func testAnExternalClusterFillsItsCommandsPerNode() throws {
        let (scenario, warnings) = try load("""
            expect: {valid: true}
            cluster:
              external:
                addresses: [kafka-a:9092, kafka-b:9093]
                nodeIds: [4, 7]
                kill: ssh {host} kill -9 $(cat /run/kafka-{node}.pid)
                start: ssh {host} start --port {port} --id {node} --at {address}
                metricsUrls: [http://kafka-a:7071/metrics, http://kafka-b:7071/metrics]
            nemesis: {faults: [kill]}
            """)
        XCTAssertEqual(warnings, [])
        let external = try XCTUnwrap(scenario.external)
        XCTAssertEqual(external.metricsURLs, ["http://kafka-a:7071/metrics", "http://kafka-b:7071/metrics"])
        XCTAssertEqual(scenario.nodes, 2)
        XCTAssertEqual(external.bootstrapServers, "kafka-a:9092,kafka-b:9093")
        XCTAssertEqual(external.command("kill", node: 7), "ssh kafka-b kill -9 $(cat /run/kafka-7.pid)")
        XCTAssertEqual(external.command("start", node: 4), "ssh kafka-a start --port 9092 --id 4 --at kafka-a:9092")
        XCTAssertNil(external.command("pause", node: 4))
        XCTAssertNil(external.command("kill", node: 1))
    }

    /// A local cluster's security is the scenario's (`cluster: security:`); every client, the run's admin connections
    /// included, gets `commonConfig`, with Java's security keys in librdkafka's names for the librdkafka clients.
    func testSecurityComesFromTheClusterAndCommonConfigReachesEveryClient() throws {
        let (scenario, warnings) = try load("""
            expect: {valid: true}
            cluster: {security: sasl_ssl}
            clients:
              commonConfig: |
                security.protocol=SASL_SSL
                sasl.mechanism=SCRAM-SHA-512
                sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";
              producerConfig: |
                acks=all
            """)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(scenario.security, .sasl_ssl)
        let producer = Dictionary(scenario.clientProperties(.producer).map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        XCTAssertEqual(producer["sasl.mechanisms"], "SCRAM-SHA-512")
        XCTAssertEqual(producer["sasl.username"], "u")
        XCTAssertEqual(producer["sasl.password"], "p")
        XCTAssertEqual(producer["acks"], "all")
        XCTAssertNil(producer["sasl.jaas.config"])
        XCTAssertNil(scenario.clientProperties(.consumer).first { $0.key == "acks" })
        let security = try scenario.clientSecurity()
        XCTAssertEqual(security.securityProtocol, .saslSsl)
        XCTAssertEqual(try load("expect: {valid: true}\n").0.security, .plaintext)

        assertRefused("expect: {valid: true}\ncluster: {security: tls}\n", naming: "security")
        assertRefused("expect: {valid: true}\ncluster:\n  security: ssl\n  external: {addresses: [a:1]}\n", naming: "security")
        let (badLogin, _) = try load("expect: {valid: true}\nclients:\n  commonConfig: |\n    security.protocol=SASL_SMOKE\n")
        XCTAssertThrowsError(try badLogin.clientSecurity()) { error in
            XCTAssertTrue("\(error)".contains("commonConfig") && "\(error)".contains("security.protocol"), "\(error)")
        }
    }

    func testUnknownKeysAreWarnings() throws {
        let (_, warnings) = try load("expect: {valid: true}\nworkload: {rat: 5}\nflavour: 1\n")
        XCTAssertEqual(warnings.count, 2, "\(warnings)")
        XCTAssertTrue(warnings.contains { $0.contains("rat") })
        XCTAssertTrue(warnings.contains { $0.contains("flavour") })
    }

    func testExpectationJudgesMustAndMayAppear() {
        let valid = Expectation(valid: true)
        XCTAssertTrue(valid.judge(valid: true, anomalies: []).met)
        XCTAssertFalse(valid.judge(valid: false, anomalies: ["lost-write"]).met)
        XCTAssertFalse(valid.judge(valid: nil, anomalies: []).met)
        let loss = Expectation(valid: false, mustAppear: ["lost-write"], mayAppear: ["unseen"])
        XCTAssertTrue(loss.judge(valid: false, anomalies: ["lost-write", "unseen"]).met)
        XCTAssertFalse(loss.judge(valid: true, anomalies: []).met, "the loss must show")
        XCTAssertFalse(loss.judge(valid: false, anomalies: ["lost-write", "duplicate"]).met, "duplicate is not allowed")
        let maybe = Expectation(valid: false, mayAppear: ["lost-write"])
        XCTAssertTrue(maybe.judge(valid: true, anomalies: []).met)
        XCTAssertTrue(maybe.judge(valid: false, anomalies: ["lost-write"]).met)
    }

    func testTheGeneratorIsDecidedByItsSeedAndValuesAreUniquePerKey() {
        func draw(_ seed: UInt64) -> [QueueOperation] {
            var generator = QueueGenerator(seed: seed, keys: 3, sendFraction: 0.5, rate: 100, crashIntervalSeconds: 1)
            return (0..<2_000).map { _ in generator.next() }
        }
        XCTAssertEqual(draw(7), draw(7))
        XCTAssertNotEqual(draw(7), draw(8))
        var seen: Set<[Int]> = []
        var sends = 0, polls = 0, crashes = 0
        for operation in draw(7) {
            switch operation {
            case let .send(key, value):
                XCTAssertTrue(seen.insert([key, value]).inserted, "value \(value) sent twice to key \(key)")
                sends += 1
            case .poll: polls += 1
            case .crash: crashes += 1
            case .txn: XCTFail("a transaction outside the transactional form")
            }
        }
        XCTAssertEqual(Double(sends) / Double(sends + polls), 0.5, accuracy: 0.05)
        XCTAssertGreaterThan(crashes, 5)  // about one per 100 operations at 100 ops/s and a 1 s interval
    }

    func testTheTransactionalFormDrawsTransactionsOfUpToMaxLengthWithUniqueValues() {
        func draw(_ seed: UInt64) -> [QueueOperation] {
            var generator = QueueGenerator(seed: seed, keys: 3, sendFraction: 0.5, rate: 100, crashIntervalSeconds: 0,
                                           transactions: .init(maxLength: 4, abortFraction: 0.2))
            return (0..<2_000).map { _ in generator.next() }
        }
        XCTAssertEqual(draw(3), draw(3))
        XCTAssertNotEqual(draw(3), draw(4))
        var seen: Set<[Int]> = [], lengths: Set<Int> = [], aborts = 0
        for operation in draw(3) {
            guard case let .txn(steps, abort) = operation else { return XCTFail("\(operation) is not a transaction") }
            lengths.insert(steps.count)
            if abort { aborts += 1 }
            for case let .send(key, value) in steps {
                XCTAssertTrue(seen.insert([key, value]).inserted, "value \(value) sent twice to key \(key)")
            }
        }
        XCTAssertEqual(lengths, [1, 2, 3, 4])
        XCTAssertEqual(Double(aborts) / 2_000, 0.2, accuracy: 0.03)
    }

    func testCoordinatorTargetsNeedTheirWorkload() throws {
        let directory = NSTemporaryDirectory() + "crucible-scenario-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func load(_ workload: String, mode: String = "assign", target: String = "txn-coordinator") throws -> Scenario {
            let path = directory + "/s.yaml"
            try "clients:\n  mode: \(mode)\nworkload:\n\(workload)\nnemesis:\n  faults: [kill]\n  targets: [\(target)]\nexpect:\n  valid: true\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            return try Scenario.load(path: path).0
        }
        let scenario = try load("  transactional: true\n  maxTxnLength: 3\n  abortFraction: 0.25")
        XCTAssertEqual(scenario.transactions, .init(maxLength: 3, abortFraction: 0.25))
        XCTAssertEqual(scenario.nemesis.targets, [.txnCoordinator])
        XCTAssertThrowsError(try load("  rate: 10")) { XCTAssertTrue("\($0)".contains("txn-coordinator needs the transactional workload"), "\($0)") }
        XCTAssertThrowsError(try load("  rate: 10", target: "group-coordinator")) { XCTAssertTrue("\($0)".contains("mode: subscribe"), "\($0)") }
        XCTAssertNoThrow(try load("  rate: 10", mode: "subscribe", target: "group-coordinator"))
        XCTAssertThrowsError(try load("  transactional: true\n  maxTxnLength: 0")) { XCTAssertTrue("\($0)".contains("maxTxnLength"), "\($0)") }
    }

    func testTheNemesisPlanIsDecidedByItsSeedAndHealsEveryFault() throws {
        let (scenario, _) = try Scenario.load(path: Self.shipped.appendingPathComponent("safe-kill.yaml").path)
        let plan = scenario.nemesis.plan(seed: 42, timeLimitSeconds: 60, keys: 4)
        XCTAssertEqual(plan, scenario.nemesis.plan(seed: 42, timeLimitSeconds: 60, keys: 4))
        XCTAssertNotEqual(plan, scenario.nemesis.plan(seed: 43, timeLimitSeconds: 60, keys: 4))
        XCTAssertGreaterThanOrEqual(plan.count, 8)
        for (index, step) in plan.enumerated() where step.fault == .kill {
            let healing = plan.first { $0.target == .sameAs(index) }
            XCTAssertEqual(healing?.fault, .restart)
            XCTAssertEqual(healing.map { $0.atSeconds - step.atSeconds } ?? 0, scenario.nemesis.durationSeconds, accuracy: 1e-9)
        }
        XCTAssertTrue(plan.allSatisfy { $0.atSeconds < 60 })
    }

    func testClockStrobesCarryTheirPeriodAndAreResetLikeBumps() throws {
        let (scheduled, warnings) = try load("""
            expect: {valid: true}
            nemesis:
              schedule:
                - {at: 1, do: strobe-clock, target: leader, seconds: -30, periodMs: 20}
                - {at: 4, do: reset-clock, target: all}
            """)
        XCTAssertEqual(warnings, [])
        XCTAssertTrue(scheduled.nemesis.movesClocks, "strobing nodes start with movable clocks")
        let strobe = scheduled.nemesis.schedule[0]
        XCTAssertEqual([strobe.clockOffsetSeconds, strobe.strobePeriodMs], [-30, 20])
        XCTAssertEqual(NemesisFault.strobeClock.healing, .resetClock)
        let (drawn, _) = try load("""
            expect: {valid: true}
            nemesis: {faults: [strobe-clock], strobePeriodMs: 50, clockBumpSeconds: 10}
            """)
        let plan = drawn.nemesis.plan(seed: 3, timeLimitSeconds: 60, keys: 2)
        let strobes = plan.enumerated().filter { $0.element.fault == .strobeClock }
        XCTAssertFalse(strobes.isEmpty)
        for (index, step) in strobes {
            XCTAssertEqual(step.strobePeriodMs, 50)
            XCTAssertTrue((1...10).contains(abs(step.clockOffsetSeconds)), "\(step.clockOffsetSeconds)")
            XCTAssertEqual(plan.first { $0.target == .sameAs(index) }?.fault, .resetClock)
        }
        assertRefused("expect: {valid: true}\nnemesis: {faults: [strobe-clock], strobePeriodMs: 5}\n", naming: "strobePeriodMs")
        assertRefused("expect: {valid: true}\nnemesis: {schedule: [{at: 1, do: strobe-clock, target: one, periodMs: 0}]}\n", naming: "periodMs")
    }

    func testDiskFaultsAreDrawnFromTheScenarioListsAndHealed() throws {
        let (scenario, warnings) = try Scenario.load(path: Self.shipped.appendingPathComponent("safe-disk.yaml").path)
        XCTAssertEqual(warnings, [])
        XCTAssertTrue(scenario.nemesis.breaksDisks)
        var drawn: Set<String> = []
        for seed in 1...20 as ClosedRange<UInt64> {
            let plan = scenario.nemesis.plan(seed: seed, timeLimitSeconds: 60, keys: 4)
            for (index, step) in plan.enumerated() where step.fault == .diskFault {
                drawn.insert(step.disk.description)
                XCTAssertEqual(plan.first { $0.target == .sameAs(index) }?.fault, .healDisk)
            }
        }
        XCTAssertEqual(drawn, ["write EIO", "write ENOSPC", "fsync EIO", "fsync ENOSPC"])
        let (scheduled, _) = try load("""
            expect: {valid: true}
            nemesis:
              schedule:
                - {at: 1, do: disk-fault, target: leader, operation: fsync, error: ENOSPC}
                - {at: 3, do: heal-disk, target: all}
            """)
        XCTAssertEqual(scheduled.nemesis.schedule.first?.disk, DiskFault(operation: .fsync, error: .enospc))
        XCTAssertEqual(DiskFault(operation: .write, error: .eio).controlLine(directory: "/d/node-1/data"), "write EIO /d/node-1/data\n")
    }
}
