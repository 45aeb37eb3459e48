import CrucibleProtocol
import NIOConcurrencyHelpers
import NIOCore

/// The active controller's view of broker liveness (KIP-631): a broker stays unfenced while it heartbeats
/// within `broker.session.timeout.ms`; when it stops, the controller fences it and elects new leaders for
/// what it led. Heartbeat times live in memory only: a new active controller gives every broker a fresh
/// session, as Kafka does. They are on the monotonic clock (every `nowMs` here), as Kafka's controller keeps
/// them: with the wall clock, a step forward on the active controller fenced every broker at once.
public struct HeartbeatAnswer: Sendable, Equatable {
    public var error: ErrorCode
    public var isFenced: Bool
    public var shouldShutDown: Bool

    public init(error: ErrorCode, isFenced: Bool, shouldShutDown: Bool) {
        self.error = error
        self.isFenced = isFenced
        self.shouldShutDown = shouldShutDown
    }
}

extension QuorumController {
    /// A heartbeat from `broker`. Unfences it when it was fenced (electing it where it is the last in-sync
    /// replica); with `wantShutDown`, moves leadership away and says when it may stop (controlled shutdown).
    /// `metadataOffset` is how far the broker has applied the metadata log: it stays fenced until that reaches
    /// its own registration, so it never acts on a stale image (leading a partition someone else now leads).
    public func heartbeat(broker: Int32, brokerEpoch: Int64, metadataOffset: Int64, wantShutDown: Bool,
                          nowMs: Int64) -> EventLoopFuture<HeartbeatAnswer> {
        lastHeartbeats.withLockedValue { $0[broker] = nowMs }
        return command("heartbeat") { [uncleanAllowed] image in
            guard let registration = image.brokers[broker] else {
                return ([], HeartbeatAnswer(error: .brokerIdNotRegistered, isFenced: true, shouldShutDown: false))
            }
            guard registration.epoch == brokerEpoch else {
                return ([], HeartbeatAnswer(error: .staleBrokerEpoch, isFenced: true, shouldShutDown: false))
            }
            if wantShutDown {
                self.shuttingDown.withLockedValue { _ = $0.insert(broker) }
                let moves = ControllerCommands.moveAwayFrom(broker: broker, image: image,
                                                            live: image.liveBrokerIds.subtracting([broker]),
                                                            uncleanAllowed: { _ in false })
                    .filter { ($0 as? PartitionChangeRecord)?.leader != -1 }
                if !moves.isEmpty || registration.fenced {
                    return (moves, HeartbeatAnswer(error: .none, isFenced: registration.fenced, shouldShutDown: moves.isEmpty))
                }
                // Nothing left to hand over: it may stop, and is fenced now, in the log (Kafka's SHUTDOWN_NOW).
                // Kept unfenced, a controller elected after it had gone (its controlled-shutdown state lives in
                // memory only) saw a live broker and made it a leader again.
                let fenced = Self.fenceRecords(broker: broker, epoch: registration.epoch, image: image,
                                               uncleanAllowed: { uncleanAllowed(image, $0) })
                return (fenced, HeartbeatAnswer(error: .none, isFenced: true, shouldShutDown: true))
            }
            guard registration.fenced else { return ([], HeartbeatAnswer(error: .none, isFenced: false, shouldShutDown: false)) }
            // A regular beat sent just before the shutdown began, arriving after it fenced the broker, must not
            // unfence it: only a new registration (a new process) ends a controlled shutdown.
            guard metadataOffset >= brokerEpoch, !self.shuttingDown.withLockedValue({ $0.contains(broker) }) else {
                return ([], HeartbeatAnswer(error: .none, isFenced: true, shouldShutDown: false))
            }
            var unfence = UnfenceBrokerRecord()
            unfence.id = broker
            unfence.epoch = brokerEpoch
            var records: [any KafkaMetadataRecord] = [unfence]
            records += ControllerCommands.electReturning(broker: broker, image: image,
                                                         uncleanAllowed: { uncleanAllowed(image, $0) })
            return (records, HeartbeatAnswer(error: .none, isFenced: false, shouldShutDown: false))
        }
    }

    /// The connection a broker heartbeats on closed: unless it heartbeats again within `connectionLossGraceMs`,
    /// the next fencing check treats its session as over.
    public func brokerConnectionLost(_ broker: Int32, nowMs: Int64) {
        lastConnectionLoss.withLockedValue { $0[broker] = nowMs }
    }

    public static let connectionLossGraceMs: Int64 = 1_000

    /// Fences every unfenced broker whose last heartbeat is older than the session timeout. Run periodically
    /// on the active controller.
    public func fenceExpiredBrokers(nowMs: Int64, sessionTimeoutMs: Int64, heartbeatIntervalMs: Int64) {
        guard isActive else {
            lastHeartbeats.withLockedValue { $0.removeAll() }
            return
        }
        let image = currentImage
        let heartbeats = lastHeartbeats.withLockedValue { beats -> [Int32: Int64] in
            // A broker this controller has not heard from yet (it just became active) must show up within a
            // heartbeat interval and a bit: live brokers beat as soon as they learn of a new controller, and one
            // that died with the old controller is not kept as leader (nor in every ISR) for a whole session.
            let grace = min(sessionTimeoutMs, heartbeatIntervalMs + 500)
            for broker in image.brokers.keys where beats[broker] == nil { beats[broker] = nowMs - sessionTimeoutMs + grace }
            return beats
        }
        let losses = lastConnectionLoss.withLockedValue { $0 }
        for broker in image.brokers.values where !broker.fenced {
            guard let last = heartbeats[broker.id] else { continue }
            let sessionOver = nowMs - last > sessionTimeoutMs
            let connectionGone = losses[broker.id].map { $0 >= last && nowMs - $0 > Self.connectionLossGraceMs } ?? false
            guard sessionOver || connectionGone else { continue }
            _ = fence(broker: broker.id, epoch: broker.epoch, lastHeartbeatMs: last,
                      reason: sessionOver ? "no heartbeat for \(nowMs - last) ms" : "its heartbeat connection closed")
        }
    }

    /// Fences `broker` as registered with `epoch`, unless by the time the command runs it registered again or
    /// heartbeat after `lastHeartbeatMs`: the decision was taken on a snapshot, and a broker that restarted in
    /// between must not lose its new session to its old one's expiry.
    public func fence(broker: Int32, epoch: Int64, lastHeartbeatMs: Int64, reason: String = "requested") -> EventLoopFuture<Void> {
        command("fence") { [uncleanAllowed, lastHeartbeats, logger] image in
            guard let registration = image.brokers[broker], !registration.fenced, registration.epoch == epoch,
                  (lastHeartbeats.withLockedValue { $0[broker] } ?? .min) <= lastHeartbeatMs else { return ([], ()) }
            logger.info("fencing broker \(broker) (epoch \(epoch)): \(reason)")
            return (Self.fenceRecords(broker: broker, epoch: registration.epoch, image: image,
                                      uncleanAllowed: { uncleanAllowed(image, $0) }), ())
        }
    }

    /// The fence of `broker` and the leadership and ISR changes that follow from it.
    static func fenceRecords(broker: Int32, epoch: Int64, image: MetadataImage,
                             uncleanAllowed: (String) -> Bool) -> [any KafkaMetadataRecord] {
        var fence = FenceBrokerRecord()
        fence.id = broker
        fence.epoch = epoch
        return [fence] + ControllerCommands.moveAwayFrom(broker: broker, image: image,
                                                         live: image.liveBrokerIds.subtracting([broker]),
                                                         uncleanAllowed: uncleanAllowed)
    }
}

extension QuorumController {
    /// Moves leadership back to preferred replicas; run every `leader.imbalance.check.interval.seconds`.
    public func rebalancePreferredLeaders(imbalancePercentage: Int) {
        guard isActive else { return }
        _ = command("preferredLeaders") { image in
            (ControllerCommands.preferredLeaders(image: image, imbalancePercentage: imbalancePercentage), ())
        }
    }
}
