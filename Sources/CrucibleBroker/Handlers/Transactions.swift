import CrucibleController
import CrucibleGroups
import CrucibleProtocol
import CrucibleTransactions
import NIOCore

/// A transactional request's answer, or why its coordinator could not give one.
enum TxnOutcome {
    case answer(TxnReply)
    case unavailable(ErrorCode)
}

// The transaction coordinator's APIs: each runs against the transactional id's shard on the coordinator's loop.
extension BrokerApis {
    /// Partitions of `__transaction_state`, nil before it exists (the coordinator is then not available).
    var transactionStatePartitions: Int32? {
        controller.currentImage.topic(named: TransactionStateLog.topic).map { Int32($0.partitions.count) }
    }

    func transactionCoordinatorError(_ error: Error) -> ErrorCode {
        switch error as? TransactionCoordinator.Unavailable {
        case .loading?: return .coordinatorLoadInProgress
        case .notCoordinator?: return .notCoordinator
        case nil: return .coordinatorNotAvailable
        }
    }

    /// Clients before KIP-588 know INVALID_PRODUCER_EPOCH where newer ones are told PRODUCER_FENCED.
    private static func fencing(_ code: ErrorCode, fencedKnownFrom version: Int16, _ asked: Int16) -> ErrorCode {
        code == .producerFenced && asked < version ? .invalidProducerEpoch : code
    }

    /// The one error code AddPartitionsToTxn, AddOffsetsToTxn and EndTxn answer with, at the version asked.
    private static func code(of outcome: TxnOutcome, _ version: Int16) -> ErrorCode {
        switch outcome {
        case .answer(.addPartitions(let code)), .answer(.endTxn(let code)): return fencing(code, fencedKnownFrom: 2, version)
        case .answer(.initProducerId): return .unknownServerError
        case .unavailable(let code): return code
        }
    }

    /// Runs a request against the transactional id's shard; the answer, or the coordinator error a client
    /// retries on (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE).
    private func runTransactional(_ id: String, on eventLoop: EventLoop,
                                  _ body: @escaping (inout TxnShard, TxnToken, Int64) -> [TxnEffect]) -> EventLoopFuture<TxnOutcome> {
        guard let transactions, let partitions = transactionStatePartitions else {
            return eventLoop.makeSucceededFuture(.unavailable(.coordinatorNotAvailable))
        }
        return transactions.submit(id, partitions: partitions, on: eventLoop) { shard, token in body(&shard, token, Clock.nowMs()) }
            .map { .answer($0) }
            .recover { .unavailable(self.transactionCoordinatorError($0)) }
    }

    /// InitProducerId with a transactional id: answered by that id's coordinator, with a producer id the active
    /// controller hands out (fetched first, used when the id needs one).
    func transactionalInitProducerId(_ request: InitProducerIdRequest, _ context: RequestContext) throws -> Reply<InitProducerIdResponse> {
        let id = request.transactionalId ?? "", version = context.version
        let expected = request.producerId >= 0 ? (request.producerId, request.producerEpoch) : nil
        return .later(freshProducerId(on: context.eventLoop).flatMap { fresh in
            self.runTransactional(id, on: context.eventLoop) { shard, token, nowMs in
                shard.initProducerId(id, timeoutMs: request.transactionTimeoutMs, expected: expected, freshProducerId: fresh,
                                     token: token, nowMs: nowMs)
            }
        }.recover { _ in TxnOutcome.unavailable(.coordinatorNotAvailable) }.map { outcome in
            var response = InitProducerIdResponse()
            response.producerId = -1
            response.producerEpoch = -1
            switch outcome {
            case .answer(.initProducerId(let code, let pid, let epoch)):
                response.errorCode = Self.fencing(code, fencedKnownFrom: 4, version).rawValue
                response.producerId = pid
                response.producerEpoch = epoch
            case .answer: response.errorCode = ErrorCode.unknownServerError.rawValue
            case .unavailable(let code): response.errorCode = code.rawValue
            }
            return HandlerOutput(response: response)
        })
    }

    /// A producer id from the active controller: this node's block when it is the controller, else one
    /// InitProducerId (without a transactional id) forwarded to it.
    private func freshProducerId(on eventLoop: EventLoop) -> EventLoopFuture<Int64> {
        guard let forwarding, !controller.isActive else { return producerIds.allocate(on: eventLoop) }
        var request = InitProducerIdRequest()
        request.transactionalId = nil
        request.transactionTimeoutMs = -1
        return forwarding.forward(request, version: 4, refusal: ControllerRefusal.initProducerId).hop(to: eventLoop)
            .flatMapThrowing { response in
                guard response.errorCode == 0, response.producerId >= 0 else { throw NotControllerError(leaderId: nil) }
                return response.producerId
            }
    }

    func addPartitionsToTxn(_ request: AddPartitionsToTxnRequest, _ context: RequestContext) throws -> Reply<AddPartitionsToTxnResponse> {
        if context.version >= 4 { return .later(brokerAddPartitions(request, context).map { HandlerOutput(response: $0) }) }
        let id = request.v3AndBelowTransactionalId, version = context.version
        let keys = request.v3AndBelowTopics.flatMap { topic in topic.partitions.map { TopicPartitionKey(topic.name, $0) } }
        let image = controller.currentImage
        let unknown = Set(keys.filter { image.topic(named: $0.topic)?.partitions[$0.partition] == nil })
        func respond(_ code: (TopicPartitionKey) -> ErrorCode) -> HandlerOutput<AddPartitionsToTxnResponse> {
            var response = AddPartitionsToTxnResponse()
            response.resultsByTopicV3AndBelow = Self.topicResults(request.v3AndBelowTopics, code)
            return HandlerOutput(response: response)
        }
        // Kafka adds none when one is unknown: those get UNKNOWN_TOPIC_OR_PARTITION, the others OPERATION_NOT_ATTEMPTED.
        guard unknown.isEmpty else {
            return .now(respond { unknown.contains($0) ? .unknownTopicOrPartition : .operationNotAttempted }.response!)
        }
        return .later(runTransactional(id, on: context.eventLoop) { shard, token, nowMs in
            shard.addPartitions(id, producerId: request.v3AndBelowProducerId, epoch: request.v3AndBelowProducerEpoch,
                                partitions: keys, token: token, nowMs: nowMs)
        }.map { outcome in
            let code = Self.code(of: outcome, version)
            return respond { _ in code }
        })
    }

    private static func topicResults(_ topics: [AddPartitionsToTxnRequest.AddPartitionsToTxnTopic],
                                     _ code: (TopicPartitionKey) -> ErrorCode) -> [AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult] {
        topics.map { topic in
            var result = AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult()
            result.name = topic.name
            result.resultsByPartition = topic.partitions.map { index in
                var partition = AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult()
                partition.partitionIndex = index
                partition.partitionErrorCode = code(TopicPartitionKey(topic.name, index)).rawValue
                return partition
            }
            return result
        }
    }

    /// AddPartitionsToTxn v4+, from brokers: several transactions at once, each either added (KIP-890 part 2) or
    /// only verified (`verifyOnly`, part 1: is each partition in the producer's ongoing transaction?).
    private func brokerAddPartitions(_ request: AddPartitionsToTxnRequest, _ context: RequestContext) -> EventLoopFuture<AddPartitionsToTxnResponse> {
        let notInTransaction: ErrorCode = context.version >= 5 ? .transactionAbortable : .invalidTxnState
        let answers = request.transactions.map { transaction -> EventLoopFuture<AddPartitionsToTxnResponse.AddPartitionsToTxnResult> in
            let id = transaction.transactionalId
            let keys = transaction.topics.flatMap { topic in topic.partitions.map { TopicPartitionKey(topic.name, $0) } }
            let codes: EventLoopFuture<[TopicPartitionKey: ErrorCode]>
            if transaction.verifyOnly {
                if let transactions, let partitions = transactionStatePartitions {
                    codes = transactions.query(id, partitions: partitions, on: context.eventLoop) { shard in
                        shard.verify(id, producerId: transaction.producerId, epoch: transaction.producerEpoch, partitions: keys,
                                     notInTransaction: notInTransaction)
                    }.recover { error in
                        let code = self.transactionCoordinatorError(error)
                        return Dictionary(uniqueKeysWithValues: keys.map { ($0, code) })
                    }
                } else {
                    codes = context.eventLoop.makeSucceededFuture(Dictionary(uniqueKeysWithValues: keys.map { ($0, .coordinatorNotAvailable) }))
                }
            } else {
                codes = runTransactional(id, on: context.eventLoop) { shard, token, nowMs in
                    shard.addPartitions(id, producerId: transaction.producerId, epoch: transaction.producerEpoch, partitions: keys,
                                        token: token, nowMs: nowMs)
                }.map { outcome in
                    let code = Self.code(of: outcome, context.version)
                    return Dictionary(uniqueKeysWithValues: keys.map { ($0, code) })
                }
            }
            return codes.map { codes in
                var result = AddPartitionsToTxnResponse.AddPartitionsToTxnResult()
                result.transactionalId = id
                result.topicResults = Self.topicResults(transaction.topics) { codes[$0] ?? .none }
                return result
            }
        }
        return EventLoopFuture.whenAllSucceed(answers, on: context.eventLoop).map { results in
            var response = AddPartitionsToTxnResponse()
            response.resultsByTransaction = results
            return response
        }
    }

    /// AddOffsetsToTxn: the group's `__consumer_offsets` partition joins the transaction, so its offsets are
    /// committed or aborted with it.
    func addOffsetsToTxn(_ request: AddOffsetsToTxnRequest, _ context: RequestContext) throws -> Reply<AddOffsetsToTxnResponse> {
        let id = request.transactionalId, version = context.version
        let offsets = TopicPartitionKey(OffsetsTopicLog.topic, OffsetsTopicLog.partition(for: request.groupId, partitions: offsetsPartitions))
        return .later(runTransactional(id, on: context.eventLoop) { shard, token, nowMs in
            shard.addPartitions(id, producerId: request.producerId, epoch: request.producerEpoch, partitions: [offsets],
                                token: token, nowMs: nowMs)
        }.map { outcome in
            var response = AddOffsetsToTxnResponse()
            response.errorCode = Self.code(of: outcome, version).rawValue
            return HandlerOutput(response: response)
        })
    }

    func endTxn(_ request: EndTxnRequest, _ context: RequestContext) throws -> Reply<EndTxnResponse> {
        let id = request.transactionalId, version = context.version
        return .later(runTransactional(id, on: context.eventLoop) { shard, token, nowMs in
            shard.endTxn(id, producerId: request.producerId, epoch: request.producerEpoch, commit: request.committed,
                         token: token, nowMs: nowMs)
        }.map { outcome in
            var response = EndTxnResponse()
            response.errorCode = Self.code(of: outcome, version).rawValue
            return HandlerOutput(response: response)
        })
    }
}

