import CrucibleClient
import CrucibleGroups
import CrucibleProtocol
import CrucibleTransactions
import Logging
import NIOCore

/// Gets a transaction's markers written on every partition it touched: WriteTxnMarkers to each partition's
/// leader (in-process when that is this node), again after a backoff for partitions whose leader moved or could
/// not be reached, until every one is written. Markers are prompt: producers wait on them before their next
/// transaction (CONCURRENT_TRANSACTIONS meanwhile).
final class TxnMarkerSender: @unchecked Sendable {
    /// The outcome of a job: every marker written, or a newer coordinator has taken the transaction over.
    enum Outcome { case written, superseded }

    private let nodeId: Int32
    private let connections: BrokerConnectionPool
    private let leaderOf: (TopicPartitionKey) -> (id: Int32, host: String, port: Int)?
    private let topicExists: (String) -> Bool
    private let writeLocally: (WriteTxnMarkersRequest, EventLoop) -> EventLoopFuture<WriteTxnMarkersResponse>
    private let logger: Logger
    static let backoff = TimeAmount.milliseconds(100)

    init(nodeId: Int32, connections: BrokerConnectionPool, leaderOf: @escaping (TopicPartitionKey) -> (id: Int32, host: String, port: Int)?,
         topicExists: @escaping (String) -> Bool,
         writeLocally: @escaping (WriteTxnMarkersRequest, EventLoop) -> EventLoopFuture<WriteTxnMarkersResponse>, logger: Logger) {
        self.nodeId = nodeId
        self.connections = connections
        self.leaderOf = leaderOf
        self.topicExists = topicExists
        self.writeLocally = writeLocally
        self.logger = logger
    }

    func send(_ job: MarkerJob, on loop: EventLoop) -> EventLoopFuture<Outcome> {
        let promise = loop.makePromise(of: Outcome.self)
        attempt(job, remaining: Set(job.partitions), on: loop, promise: promise)
        return promise.futureResult
    }

    private func attempt(_ job: MarkerJob, remaining: Set<TopicPartitionKey>, on loop: EventLoop, promise: EventLoopPromise<Outcome>) {
        var byLeader: [Int32: [TopicPartitionKey]] = [:]
        var unreachable: Set<TopicPartitionKey> = []
        var addresses: [Int32: (String, Int)] = [:]
        for key in remaining {
            guard let leader = leaderOf(key) else {
                // A deleted topic needs no marker; a partition without a leader waits for one.
                if topicExists(key.topic) { unreachable.insert(key) }
                continue
            }
            byLeader[leader.id, default: []].append(key)
            addresses[leader.id] = (leader.host, leader.port)
        }
        let sends = byLeader.map { leader, keys in
            write(job, keys, to: leader, address: addresses[leader]!, on: loop).map { codes in (keys, codes) }
        }
        EventLoopFuture.whenAllSucceed(sends, on: loop).whenSuccess { results in
            var retry = unreachable
            for (keys, codes) in results {
                for key in keys {
                    switch codes[key] ?? .networkException {
                    case .none, .unknownTopicOrPartition where !self.topicExists(key.topic):
                        continue
                    case .invalidProducerEpoch:
                        // The partition's producer has a newer epoch: a later decision ended this transaction there.
                        self.logger.info("marker for \(job.transactionalId) on \(key.topic)-\(key.partition) refused: newer producer epoch")
                    case .transactionCoordinatorFenced:
                        self.logger.info("markers for \(job.transactionalId) superseded by a newer coordinator")
                        return promise.succeed(.superseded)
                    default:
                        retry.insert(key)
                    }
                }
            }
            guard !retry.isEmpty else { return promise.succeed(.written) }
            loop.scheduleTask(in: Self.backoff) { self.attempt(job, remaining: retry, on: loop, promise: promise) }
        }
    }

    /// One WriteTxnMarkers to `leader` for `keys`; every partition's code, or no codes when it could not be sent.
    private func write(_ job: MarkerJob, _ keys: [TopicPartitionKey], to leader: Int32, address: (String, Int),
                       on loop: EventLoop) -> EventLoopFuture<[TopicPartitionKey: ErrorCode]> {
        var marker = WriteTxnMarkersRequest.WritableTxnMarker()
        marker.producerId = job.producerId
        marker.producerEpoch = job.producerEpoch
        marker.transactionResult = job.commit
        marker.coordinatorEpoch = job.coordinatorEpoch
        marker.topics = Dictionary(grouping: keys, by: \.topic).sorted { $0.key < $1.key }.map { topic, partitions in
            var entry = WriteTxnMarkersRequest.WritableTxnMarkerTopic()
            entry.name = topic
            entry.partitionIndexes = partitions.map(\.partition).sorted()
            return entry
        }
        var request = WriteTxnMarkersRequest()
        request.markers = [marker]
        let answer: EventLoopFuture<WriteTxnMarkersResponse>
        if leader == nodeId {
            answer = writeLocally(request, loop)
        } else {
            answer = connections.connection(to: leader, host: address.0, port: address.1).flatMap { connection in
                connection.send(request, timeout: .seconds(35)).map(\.0)
            }.hop(to: loop)
        }
        return answer.map { response in
            var codes: [TopicPartitionKey: ErrorCode] = [:]
            for topic in response.markers.first?.topics ?? [] {
                for partition in topic.partitions {
                    codes[TopicPartitionKey(topic.name, partition.partitionIndex)] = ErrorCode(rawValue: partition.errorCode)
                }
            }
            return codes
        }.recover { error in
            self.connections.drop(leader)
            self.logger.debug("markers for \(job.transactionalId) to node \(leader) failed: \(error)")
            return [:]
        }
    }

    func close() { connections.close() }

}
