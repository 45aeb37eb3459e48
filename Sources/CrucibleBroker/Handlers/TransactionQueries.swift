import CrucibleGroups
import CrucibleProtocol
import CrucibleTransactions
import NIOCore

// DescribeTransactions and ListTransactions (KIP-664), what `kafka-transactions.sh` shows: each node answers for
// the transactional ids whose coordinator it is.
extension BrokerApis {
    func describeTransactions(_ request: DescribeTransactionsRequest, _ context: RequestContext) throws -> Reply<DescribeTransactionsResponse> {
        let answers = request.transactionalIds.map { id -> EventLoopFuture<DescribeTransactionsResponse.TransactionState> in
            var state = DescribeTransactionsResponse.TransactionState()
            state.transactionalId = id
            state.producerId = -1
            state.producerEpoch = -1
            state.transactionStartTimeMs = -1
            guard let transactions, let partitions = transactionStatePartitions else {
                state.errorCode = ErrorCode.coordinatorNotAvailable.rawValue
                return context.eventLoop.makeSucceededFuture(state)
            }
            return transactions.query(id, partitions: partitions, on: context.eventLoop) { shard in shard.transactions[id] }
                .map { found in
                    guard let meta = found else {
                        state.errorCode = ErrorCode.transactionalIdNotFound.rawValue
                        return state
                    }
                    state.transactionState = meta.state.name
                    state.transactionTimeoutMs = meta.timeoutMs
                    state.transactionStartTimeMs = meta.state == .empty ? -1 : meta.startMs
                    state.producerId = meta.producerId
                    state.producerEpoch = meta.producerEpoch
                    state.topics = Dictionary(grouping: meta.partitions, by: \.topic).sorted { $0.key < $1.key }.map { topic, keys in
                        var data = DescribeTransactionsResponse.TopicData()
                        data.topic = topic
                        data.partitions = keys.map(\.partition).sorted()
                        return data
                    }
                    return state
                }.recover { error in
                    state.errorCode = self.transactionCoordinatorError(error).rawValue
                    return state
                }
        }
        return .later(EventLoopFuture.whenAllSucceed(answers, on: context.eventLoop).map { states in
            var response = DescribeTransactionsResponse()
            response.transactionStates = states
            return HandlerOutput(response: response)
        })
    }

    func listTransactions(_ request: ListTransactionsRequest, _ context: RequestContext) throws -> Reply<ListTransactionsResponse> {
        let known = Set(TxnState.allCases.map(\.name))
        let states = Set(request.stateFilters), producers = Set(request.producerIdFilters)
        let durationFilter = context.version >= 1 ? request.durationFilter : -1
        var response = ListTransactionsResponse()
        response.unknownStateFilters = request.stateFilters.filter { !known.contains($0) }
        guard let transactions else { return .now(response) }
        return .later(transactions.collect(on: context.eventLoop).map { found, loading in
            let now = Clock.nowMs()
            response.errorCode = loading ? ErrorCode.coordinatorLoadInProgress.rawValue : 0
            response.transactionStates = found.filter { meta in
                (states.isEmpty || states.contains(meta.state.name)) && (producers.isEmpty || producers.contains(meta.producerId))
                    && (durationFilter < 0 || meta.startMs >= 0 && now - meta.startMs >= durationFilter)
            }.sorted { $0.transactionalId < $1.transactionalId }.map { meta in
                var state = ListTransactionsResponse.TransactionState()
                state.transactionalId = meta.transactionalId
                state.producerId = meta.producerId
                state.transactionState = meta.state.name
                return state
            }
            return HandlerOutput(response: response)
        })
    }
}
