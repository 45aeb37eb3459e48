#if canImport(Glibc)
import Glibc
#endif
import CrucibleController
import CrucibleProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// This broker's side of KIP-631: register with the active controller, then heartbeat every
/// `broker.heartbeat.interval.ms`; a missed session gets it fenced, a heartbeat unfences it. On SIGTERM it
/// asks for a controlled shutdown and waits (bounded) until it leads nothing.
final class BrokerLifecycle: @unchecked Sendable {
    private let nodeId: Int32
    private let endpoints: [BrokerEndpointImage]
    private let rack: String?
    private let channel: ControllerChannel
    private let eventLoop: EventLoop
    private let intervalMs: Int64
    private let logger: Logger
    private let incarnation = KafkaUUID.random()
    /// `beating`: which beat is in flight, if any (numbered, so an abandoned one finishing late frees nothing).
    private let state = NIOLockedValueBox<(epoch: Int64?, tasks: [RepeatedTask], beating: Int?, beats: Int)>((nil, [], nil, 0))

    init(nodeId: Int32, endpoints: [BrokerEndpointImage], rack: String?, channel: ControllerChannel,
         eventLoop: EventLoop, intervalMs: Int64, logger: Logger) {
        self.nodeId = nodeId
        self.rack = rack
        self.endpoints = endpoints
        self.channel = channel
        self.eventLoop = eventLoop
        self.intervalMs = intervalMs
        self.logger = logger
    }

    /// Starts registering and heartbeating; the future completes once a heartbeat finds this broker unfenced,
    /// which the controller allows only after this broker has caught up with the metadata log. Besides the
    /// regular beat, a change of active controller gets a beat at once: a new controller fences brokers it has
    /// not heard from within a short grace, and only then fences the dead, so the sooner the live ones speak
    /// up, the shorter a failover (see `QuorumController.fenceExpiredBrokers`).
    func start() -> EventLoopFuture<Void> {
        let first = eventLoop.makePromise(of: Void.self)
        // Whether a beat started: not while one is in flight, unless the active controller changed. The beat in
        // flight then went to the old one, which may be cut off and answer nothing until the request times out
        // (5 s), far beyond the new controller's grace: waiting for it got live brokers fenced.
        let beatOnce: @Sendable (_ newController: Bool) -> Bool = { newController in
            guard let number = self.state.withLockedValue({ state -> Int? in
                // Never two registrations at once: only a registered broker's beats overlap.
                guard state.beating == nil || (newController && state.epoch != nil) else { return nil }
                state.beats += 1
                state.beating = state.beats
                return state.beats
            }) else { return false }
            self.beat().map { answer in
                if answer.error == ErrorCode.none && !answer.isFenced { first.succeed(()) }
            }.recover { error in
                self.logger.debug("heartbeat failed: \(error)")
            }.whenComplete { _ in self.state.withLockedValue { if $0.beating == number { $0.beating = nil } } }
            return true
        }
        let task = eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(intervalMs)) { _ in
            _ = beatOnce(false)
        }
        // A new active controller: beat at once. A dropped connection to it: beat as soon as no beat is in flight
        // (the one in flight may be the call that failed).
        let seen = NIOLockedValueBox((controller: channel.activeControllerId, drops: channel.connectionDrops))
        let watch = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(50), delay: .milliseconds(50)) { _ in
            let now = (controller: self.channel.activeControllerId, drops: self.channel.connectionDrops)
            let last = seen.withLockedValue { $0 }
            guard now.controller != nil, now.controller != last.controller || now.drops != last.drops else {
                seen.withLockedValue { $0 = now }
                return
            }
            if beatOnce(now.controller != last.controller) { seen.withLockedValue { $0 = now } }
        }
        state.withLockedValue { $0.tasks = [task, watch] }
        return first.futureResult
    }

    private func beat(wantShutDown: Bool = false) -> EventLoopFuture<HeartbeatAnswer> {
        guard let epoch = state.withLockedValue({ $0.epoch }) else {
            return channel.registerBroker(id: nodeId, endpoints: endpoints, rack: rack, incarnation: incarnation)
                .hop(to: eventLoop)
                .flatMap { epoch in
                    self.state.withLockedValue { $0.epoch = epoch }
                    self.logger.info("registered with the controller, broker epoch \(epoch)")
                    return self.beat(wantShutDown: wantShutDown)
                }
        }
        return channel.heartbeat(broker: nodeId, brokerEpoch: epoch, wantShutDown: wantShutDown).hop(to: eventLoop)
            .map { answer in
                if answer.error == .staleBrokerEpoch || answer.error == .brokerIdNotRegistered {
                    self.state.withLockedValue { $0.epoch = nil }  // register again
                }
                return answer
            }
    }

    /// Controlled shutdown: ask until the controller says leadership has moved away, or `timeoutMs` passes.
    func controlledShutdown(timeoutMs: Int64) {
        state.withLockedValue { $0.tasks.forEach { $0.cancel() } }
        let deadline = NIODeadline.now() + .milliseconds(timeoutMs)
        while NIODeadline.now() < deadline {
            if let answer = try? beat(wantShutDown: true).wait(), answer.shouldShutDown { return }
            usleep(100_000)
        }
        logger.warning("controlled shutdown did not complete within \(timeoutMs) ms")
    }

    func stop() {
        state.withLockedValue { $0.tasks.forEach { $0.cancel() } }
    }
}
