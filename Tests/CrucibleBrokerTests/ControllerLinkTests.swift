import CrucibleController
import CrucibleProtocol
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import XCTest
@testable import CrucibleBroker

/// How a broker talks to the active controller: heartbeats that do not wait for the regular interval when the
/// controller changes or a call dropped the connection, and a command that loses leadership halfway answering
/// NOT_CONTROLLER rather than closing the client's connection.
final class ControllerLinkTests: XCTestCase {
    /// A controller channel under the test's control: counts heartbeats, lets the test move the active controller
    /// and count dropped connections.
    final class ScriptedChannel: ControllerChannel, @unchecked Sendable {
        let loop: EventLoop
        let state = NIOLockedValueBox((controller: Int32?.some(1), drops: 0, beats: 0))
        /// While set, heartbeats go unanswered (a controller cut off from this broker): the calls are held here.
        let unanswered = NIOLockedValueBox<[EventLoopPromise<HeartbeatAnswer>]?>(nil)
        init(loop: EventLoop) { self.loop = loop }

        var activeControllerId: Int32? { state.withLockedValue { $0.controller } }
        var connectionDrops: Int { state.withLockedValue { $0.drops } }
        var beats: Int { state.withLockedValue { $0.beats } }

        func registerBroker(id: Int32, endpoints: [BrokerEndpointImage], rack: String?,
                            incarnation: KafkaUUID) -> EventLoopFuture<Int64> {
            loop.makeSucceededFuture(7)
        }

        func heartbeat(broker: Int32, brokerEpoch: Int64, wantShutDown: Bool) -> EventLoopFuture<HeartbeatAnswer> {
            state.withLockedValue { $0.beats += 1 }
            let held = loop.makePromise(of: HeartbeatAnswer.self)
            let hangs = unanswered.withLockedValue { calls in
                calls?.append(held)
                return calls != nil
            }
            if !hangs { held.succeed(HeartbeatAnswer(error: .none, isFenced: false, shouldShutDown: false)) }
            return held.futureResult
        }

        /// Fails every held call (the request timing out at last).
        func timeOutHeldCalls() {
            struct TimedOut: Error {}
            for call in unanswered.withLockedValue({ calls in defer { calls = nil }; return calls ?? [] }) { call.fail(TimedOut()) }
        }

        func alterPartition(topicId: KafkaUUID, partition: Int32, leaderId: Int32, leaderEpoch: Int32,
                            partitionEpoch: Int32, isr: [Int32]) -> EventLoopFuture<ErrorCode> {
            loop.makeSucceededFuture(.none)
        }
    }

    func waitUntil(_ what: String, timeout: TimeInterval = 10, _ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else { return XCTFail("timed out waiting for \(what)") }
            usleep(10_000)
        }
    }

    /// A broker lifecycle on `channel`, registered and past its first beat. Its regular interval is far longer
    /// than a test: any beat after the first comes from the watch.
    func startedLifecycle(_ channel: ScriptedChannel, _ group: EventLoopGroup) throws -> BrokerLifecycle {
        let lifecycle = BrokerLifecycle(nodeId: 1, endpoints: [], rack: nil, channel: channel, eventLoop: group.next(),
                                        intervalMs: 600_000, logger: Logger(label: "test"))
        try lifecycle.start().wait()
        return lifecycle
    }

    func testABrokerBeatsAtOnceWhenTheControllerChangesOrItsConnectionDrops() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let channel = ScriptedChannel(loop: group.next())
        let lifecycle = try startedLifecycle(channel, group)
        defer { lifecycle.stop() }
        XCTAssertEqual(channel.beats, 1)
        channel.state.withLockedValue { $0.controller = 2 }
        waitUntil("a beat to the new controller") { channel.beats == 2 }
        channel.state.withLockedValue { $0.drops += 1 }
        waitUntil("a beat after the dropped connection") { channel.beats == 3 }
        // Leaderless for a moment: nobody to beat to. Then a leader again (re-elected, it is a new active controller
        // with fresh sessions): a beat.
        channel.state.withLockedValue { $0.controller = nil }
        usleep(200_000)
        XCTAssertEqual(channel.beats, 3)
        channel.state.withLockedValue { $0.controller = 2 }
        waitUntil("a beat to the re-elected controller") { channel.beats == 4 }
    }

    func testANewControllerGetsABeatWhileTheOneToTheOldControllerIsUnanswered() throws {
        // The old controller, cut off, answers nothing until the request times out (5 s), longer than the grace a
        // new controller gives brokers it has not heard from: waiting for that beat got live brokers fenced.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let channel = ScriptedChannel(loop: group.next())
        let lifecycle = try startedLifecycle(channel, group)
        defer { lifecycle.stop() }
        defer { channel.timeOutHeldCalls() }
        channel.unanswered.withLockedValue { $0 = [] }
        channel.state.withLockedValue { $0.drops += 1 }
        waitUntil("a beat the controller leaves unanswered") { channel.beats == 2 }
        // The same controller: no second beat while one is in flight to it.
        channel.state.withLockedValue { $0.drops += 1 }
        usleep(300_000)
        XCTAssertEqual(channel.beats, 2)
        // A new controller: a beat at once, the unanswered one notwithstanding.
        channel.state.withLockedValue { $0.controller = 2 }
        waitUntil("a beat to the new controller while the old beat hangs") { channel.beats == 3 }
        // Its late failure frees nothing the newer beat holds; once both are done, beats go on as before.
        channel.timeOutHeldCalls()
        channel.state.withLockedValue { $0.drops += 1 }
        waitUntil("a beat after the held calls ended") { channel.beats >= 4 }
    }

    func testACommandThatLosesLeadershipAnswersNotController() throws {
        let directory = NSTemporaryDirectory() + "crucible-forwarding-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let quorum = LocalMetadataQuorum(nodeId: 1, log: try MetadataLog(directory: directory, nowMs: 0),
                                         eventLoop: group.next())
        let publisher = MetadataPublisher()
        try quorum.start { publisher.publish($0) }
        defer { quorum.shutdown() }
        let controller = QuorumController(quorum: quorum, publisher: publisher, policy: ControllerPolicy(),
                                          eventLoop: group.next())
        XCTAssertTrue(controller.isActive)
        let forwarding = ControllerForwarding(
            controller: controller,
            connections: ControllerConnections(eventLoop: group.next(), clientId: "test", localId: 1, addresses: [:]))
        let failure = NIOLockedValueBox<any Error>(NotControllerError(leaderId: nil))
        let handler = forwarding.wrap({ (_: CreateTopicsRequest, context: RequestContext) in
            .later(context.eventLoop.makeFailedFuture(failure.withLockedValue { $0 }))
        }, refusal: ControllerRefusal.createTopics)
        var request = CreateTopicsRequest()
        var topic = CreateTopicsRequest.CreatableTopic()
        topic.name = "t"
        request.topics = [topic]
        let context = RequestContext(header: RequestHeader(), eventLoop: group.next())

        guard case .later(let answer) = try handler(request, context) else { return XCTFail("answered at once") }
        let response = try XCTUnwrap(try answer.wait().response)
        XCTAssertEqual(response.topics.map(\.name), ["t"])
        XCTAssertEqual(response.topics.map(\.errorCode), [ErrorCode.notController.rawValue])

        // Any other failure is not turned into a retriable answer.
        struct Broken: Error {}
        failure.withLockedValue { $0 = Broken() }
        guard case .later(let other) = try handler(request, context) else { return XCTFail("answered at once") }
        XCTAssertThrowsError(try other.wait()) { XCTAssert($0 is Broken) }
    }
}
