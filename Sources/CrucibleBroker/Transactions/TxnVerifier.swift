import CrucibleClient
import CrucibleGroups
import CrucibleProtocol
import Logging
import NIOCore

/// KIP-890 part 1 at a partition's leader: before a producer's first transactional write to the partition, ask
/// its transaction coordinator whether the partition is in the producer's ongoing transaction (AddPartitionsToTxn
/// v4 with verifyOnly, or in-process when the coordinator runs here). Without it, a write delayed past the end of
/// its transaction opens one nobody will end (a hanging transaction), or slips into the producer's next one.
final class TxnVerifier: @unchecked Sendable {
    private let nodeId: Int32
    private let connections: BrokerConnectionPool
    /// The coordinator of a transactional id: its node and address, nil while unknown.
    private let coordinatorOf: (String) -> (id: Int32, host: String, port: Int)?
    private let local: (String, Int64, Int16, TopicPartitionKey, EventLoop) -> EventLoopFuture<ErrorCode>
    private let logger: Logger

    init(nodeId: Int32, connections: BrokerConnectionPool, coordinatorOf: @escaping (String) -> (id: Int32, host: String, port: Int)?,
         local: @escaping (String, Int64, Int16, TopicPartitionKey, EventLoop) -> EventLoopFuture<ErrorCode>, logger: Logger) {
        self.nodeId = nodeId
        self.connections = connections
        self.coordinatorOf = coordinatorOf
        self.local = local
        self.logger = logger
    }

    /// The coordinator's answer for the partition; COORDINATOR_NOT_AVAILABLE or NETWORK_EXCEPTION when it could
    /// not be asked.
    func verify(transactionalId: String, producerId: Int64, epoch: Int16, partition: TopicPartitionKey,
                on eventLoop: EventLoop) -> EventLoopFuture<ErrorCode> {
        guard let coordinator = coordinatorOf(transactionalId) else { return eventLoop.makeSucceededFuture(.coordinatorNotAvailable) }
        if coordinator.id == nodeId { return local(transactionalId, producerId, epoch, partition, eventLoop) }
        var topic = AddPartitionsToTxnRequest.AddPartitionsToTxnTopic()
        topic.name = partition.topic
        topic.partitions = [partition.partition]
        var transaction = AddPartitionsToTxnRequest.AddPartitionsToTxnTransaction()
        transaction.transactionalId = transactionalId
        transaction.producerId = producerId
        transaction.producerEpoch = epoch
        transaction.verifyOnly = true
        transaction.topics = [topic]
        var request = AddPartitionsToTxnRequest()
        request.transactions = [transaction]
        return connections.connection(to: coordinator.id, host: coordinator.host, port: coordinator.port).flatMap { connection in
            connection.send(request, version: 4, timeout: .seconds(10))
        }.hop(to: eventLoop).map { response in
            let answer = response.resultsByTransaction.first?.topicResults.first?.resultsByPartition.first?.partitionErrorCode
            return ErrorCode(rawValue: answer ?? response.errorCode)
        }.recover { error in
            self.connections.drop(coordinator.id)
            self.logger.debug("verifying \(transactionalId)'s write to \(partition.topic)-\(partition.partition) failed: \(error)")
            return .networkException
        }
    }

    /// What a producer is told when its write was not verified: retriable when the coordinator could not say.
    static func produceError(for answer: ErrorCode) -> ErrorCode {
        switch answer {
        case .invalidProducerEpoch, .producerFenced: return .invalidProducerEpoch
        case .invalidTxnState, .transactionAbortable, .invalidProducerIdMapping: return .invalidTxnState
        default: return .notEnoughReplicas
        }
    }
}
