import CrucibleProtocol
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import XCTest
@testable import CrucibleController

/// Three `RaftMetadataQuorum` nodes in one process, talking over real loopback sockets, each with its own
/// directory. Waits poll a condition until a deadline; nothing sleeps a fixed time.
final class RaftMetadataQuorumTests: XCTestCase {
    /// What one node's `onCommit` saw, in order: the record offset and topic name of each record.
    final class CommitLog: @unchecked Sendable {
        private let lock = NIOLock()
        private var seen: [(Int64, String)] = []

        func record(_ commit: MetadataCommit) {
            lock.withLock {
                switch commit {
                case .records(let base, let records):
                    for (index, record) in records.enumerated() {
                        seen.append((base + Int64(index), (record as? TopicRecord)?.name ?? "\(type(of: record))"))
                    }
                case .snapshot(let end, let records):
                    seen = records.enumerated().map { (end - Int64(records.count) + Int64($0.offset),
                                                       ($0.element as? TopicRecord)?.name ?? "\(type(of: $0.element))") }
                }
            }
        }

        var names: [String] { lock.withLock { seen.map(\.1) } }
        var offsets: [Int64] { lock.withLock { seen.map(\.0) } }
    }

    final class Cluster {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let directory: String
        var servers: [Int32: QuorumTestServer] = [:]
        var nodes: [Int32: RaftMetadataQuorum] = [:]
        var commits: [Int32: CommitLog] = [:]
        let ids: [Int32] = [1, 2, 3]
        var snapshotEvery = 20_000

        init() throws {
            directory = NSTemporaryDirectory() + "crucible-quorum-\(UUID().uuidString)"
            for id in ids { servers[id] = try QuorumTestServer(group: group) }
        }

        func start(_ id: Int32, freshDirectory: Bool = false) throws {
            let voters = Dictionary(uniqueKeysWithValues: ids.map {
                ($0, QuorumVoterAddress(host: "127.0.0.1", port: servers[$0]!.port))
            })
            let nodeDirectory = directory + "/node-\(id)"
            if freshDirectory { try? FileManager.default.removeItem(atPath: nodeDirectory) }
            var settings = RaftQuorumSettings(nodeId: id, voters: voters, clusterId: "test-cluster",
                                              metadataDirectory: nodeDirectory)
            // Short timeouts keep the test fast; loopback answers in well under a millisecond.
            settings.electionTimeoutMs = 200
            settings.fetchTimeoutMs = 400
            settings.requestTimeoutMs = 400
            settings.snapshotEveryRecords = snapshotEvery
            let quorum = RaftMetadataQuorum(settings: settings)
            let log = CommitLog()
            try quorum.start { log.record($0) }
            nodes[id] = quorum
            commits[id] = log
            servers[id]!.quorum.withLockedValue { $0 = quorum }
        }

        func stop(_ id: Int32) {
            servers[id]!.quorum.withLockedValue { $0 = nil }
            nodes.removeValue(forKey: id)?.shutdown()
            commits.removeValue(forKey: id)
        }

        func shutdown() {
            for id in Array(nodes.keys) { stop(id) }
            for server in servers.values { server.close() }
            try? group.syncShutdownGracefully()
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// The leader every running node agrees on, once they do.
        var agreedLeader: Int32? {
            let views = nodes.values.map { ($0.leaderId, $0.epoch) }
            guard let first = views.first, let leader = first.0, views.allSatisfy({ $0 == first }) else { return nil }
            return nodes[leader] != nil ? leader : nil
        }

        func propose(_ names: [String]) throws -> Int64 {
            let leader = try XCTUnwrap(agreedLeader)
            let records: [any KafkaMetadataRecord] = names.map { name in
                var topic = TopicRecord()
                topic.name = name
                topic.topicId = .random()
                return topic
            }
            return try nodes[leader]!.propose(records).wait()
        }
    }

    func waitUntil(_ what: String, timeout: TimeInterval = 8, _ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > deadline { return XCTFail("timed out waiting until \(what)") }
            usleep(10_000)
        }
    }

    func testElectionReplicationFailoverAndCatchUp() throws {
        let cluster = try Cluster()
        defer { cluster.shutdown() }
        for id in cluster.ids { try cluster.start(id) }
        waitUntil("a leader is elected") { cluster.agreedLeader != nil }

        _ = try cluster.propose(["a", "b"])
        _ = try cluster.propose(["c"])
        waitUntil("every node committed a, b, c") { cluster.commits.values.allSatisfy { $0.names == ["a", "b", "c"] } }
        let offsets = cluster.commits.values.map(\.offsets)
        XCTAssertTrue(offsets.allSatisfy { $0 == offsets[0] }, "same record offsets everywhere: \(offsets)")

        // The leader stops (and resigns): the other two elect a new one and keep committing.
        let oldLeader = try XCTUnwrap(cluster.agreedLeader)
        cluster.stop(oldLeader)
        waitUntil("a new leader is elected") { cluster.agreedLeader.map { $0 != oldLeader } ?? false }
        _ = try cluster.propose(["d"])
        waitUntil("the survivors commit d") { cluster.commits.values.allSatisfy { $0.names.last == "d" } }

        // The old leader comes back on its files and catches up.
        try cluster.start(oldLeader)
        waitUntil("the restarted node follows the new leader") { cluster.agreedLeader != nil }
        _ = try cluster.propose(["e"])
        waitUntil("every node committed a..e") {
            cluster.commits.values.allSatisfy { $0.names == ["a", "b", "c", "d", "e"] }
        }
        let after = cluster.commits.values.map(\.offsets)
        XCTAssertTrue(after.allSatisfy { $0 == after[0] }, "same record offsets everywhere: \(after)")
    }

    func testProposalOnFollowerFailsWithNotController() throws {
        let cluster = try Cluster()
        defer { cluster.shutdown() }
        for id in cluster.ids { try cluster.start(id) }
        waitUntil("a leader is elected") { cluster.agreedLeader != nil }
        let leader = try XCTUnwrap(cluster.agreedLeader)
        let follower = cluster.ids.first { $0 != leader }!
        XCTAssertThrowsError(try cluster.nodes[follower]!.propose([TopicRecord()]).wait()) { error in
            XCTAssertEqual((error as? NotControllerError)?.leaderId, leader)
        }
    }

    func testSnapshotsTrimTheLogAndBringAnEmptyNodeUpToDate() throws {
        let cluster = try Cluster()
        defer { cluster.shutdown() }
        cluster.snapshotEvery = 5
        for id in cluster.ids { try cluster.start(id) }
        waitUntil("a leader is elected") { cluster.agreedLeader != nil }
        let leader = try XCTUnwrap(cluster.agreedLeader)
        let wiped = cluster.ids.first { $0 != leader }!
        cluster.stop(wiped)
        let names = (0..<30).map { "t\($0)" }
        for chunk in stride(from: 0, to: names.count, by: 3) { _ = try cluster.propose(Array(names[chunk..<chunk + 3])) }
        let checkpoints = try FileManager.default.contentsOfDirectory(
            atPath: cluster.directory + "/node-\(leader)/__cluster_metadata-0").filter { $0.hasSuffix(".checkpoint") }
        XCTAssertEqual(checkpoints.count, 1, "older snapshots are removed: \(checkpoints)")

        // A node that lost its disk gets the snapshot (FetchSnapshot) and then the entries after it.
        try cluster.start(wiped, freshDirectory: true)
        waitUntil("the wiped node has every topic") { Set(cluster.commits[wiped]!.names) == Set(names) }
        // And it recovers from its own snapshot after a restart.
        cluster.stop(wiped)
        try cluster.start(wiped)
        waitUntil("the restarted node has every topic") { Set(cluster.commits[wiped]!.names) == Set(names) }
    }
}
