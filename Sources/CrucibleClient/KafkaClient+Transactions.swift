import CrucibleProtocol

/// One transactional id as ListTransactions reports it, with the broker that coordinates it.
public struct TransactionListing: Sendable, Equatable {
    public var transactionalId: String
    public var coordinator: Int32
    public var producerId: Int64
    public var state: String
}

/// One transactional id as DescribeTransactions reports it.
public struct TransactionDescription: Sendable {
    public var coordinator: Int32
    public var transactionalId: String
    public var producerId: Int64
    public var producerEpoch: Int16
    public var state: String
    public var timeoutMs: Int32
    /// -1 when no transaction has started.
    public var startTimeMs: Int64
    public var partitions: [(topic: String, partition: Int32)]
}

/// The calls of Kafka's `kafka-transactions.sh` (KIP-664).
extension KafkaClient {
    /// Every transactional id on every broker (each answers for those it coordinates).
    public func listTransactions() throws -> [TransactionListing] {
        let brokers = try refreshMetadata(topics: []).brokers.keys.sorted()
        return try brokers.flatMap { broker in
            try retryingCoordinatorErrors { () -> [TransactionListing] in
                let (response, _) = try call(ListTransactionsRequest(), on: try connection(to: broker))
                try ErrorCode(rawValue: response.errorCode).check("ListTransactions")
                return response.transactionStates.map {
                    TransactionListing(transactionalId: $0.transactionalId, coordinator: broker, producerId: $0.producerId,
                                       state: $0.transactionState)
                }
            }
        }.sorted { $0.transactionalId < $1.transactionalId }
    }

    /// The state of `transactionalId` at its coordinator.
    public func describeTransaction(_ transactionalId: String) throws -> TransactionDescription {
        try retryingCoordinatorErrors {
            let coordinator = try findCoordinatorOnce(group: transactionalId, keyType: 1)
            var request = DescribeTransactionsRequest()
            request.transactionalIds = [transactionalId]
            let (response, _) = try call(request, on: try connection(to: coordinator.nodeId))
            guard let state = response.transactionStates.first(where: { $0.transactionalId == transactionalId }) else {
                throw KafkaClientError.malformedResponse("DescribeTransactions answer does not name \(transactionalId)")
            }
            try ErrorCode(rawValue: state.errorCode).check("describing transactional id \(transactionalId)")
            return TransactionDescription(
                coordinator: coordinator.nodeId, transactionalId: transactionalId, producerId: state.producerId,
                producerEpoch: state.producerEpoch, state: state.transactionState, timeoutMs: state.transactionTimeoutMs,
                startTimeMs: state.transactionStartTimeMs,
                partitions: state.topics.flatMap { topic in topic.partitions.map { (topic.topic, $0) } })
        }
    }
}
