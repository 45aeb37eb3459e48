import CrucibleGroups
import CrucibleMutations
import CrucibleProtocol
import CrucibleRecords
import CrucibleStorage
import NIOCore

extension BrokerApis {
    func produce(_ request: ProduceRequest, _ context: RequestContext) throws -> Reply<ProduceResponse> {
        var response = ProduceResponse()
        let nowMs = context.nowMs
        // Per partition: its answer, and for acks=all the wait for the high watermark; a transactional batch that
        // starts its producer's transaction here is verified with the coordinator first (KIP-890).
        var outcomes: [(Int, Int, EventLoopFuture<ProducedPartition>)] = []
        // WRITE on the transactional id (for the whole request) and on each topic.
        let transactionDenied = request.transactionalId.map { !allowed(context, .write, .transactionalId, $0) } ?? false
        response.responses = request.topicData.enumerated().map { topicIndex, topic in
            var topicResponse = ProduceResponse.TopicProduceResponse()
            topicResponse.name = topic.name
            let denied: ErrorCode? = transactionDenied ? .transactionalIdAuthorizationFailed
                : allowed(context, .write, .topic, topic.name) ? nil : .topicAuthorizationFailed
            topicResponse.partitionResponses = topic.partitionData.enumerated().map { partitionIndex, data in
                if let denied {
                    var refused = ProduceResponse.PartitionProduceResponse()
                    refused.index = data.index
                    refused.errorCode = denied.rawValue
                    return refused
                }
                let append = { (verification: UInt64?) in
                    self.appendToPartition(topic: topic.name, data: data, acks: request.acks, timeoutMs: Int64(request.timeoutMs),
                                           context: context, nowMs: nowMs, verification: verification)
                }
                if let pending = verifyFirst(topic.name, data, transactionalId: request.transactionalId, context: context, append) {
                    outcomes.append((topicIndex, partitionIndex, pending))
                    var placeholder = ProduceResponse.PartitionProduceResponse()
                    placeholder.index = data.index
                    return placeholder
                }
                let (result, wait) = append(nil)
                if let wait { outcomes.append((topicIndex, partitionIndex, wait.map { (result, $0) })) }
                return result
            }
            return topicResponse
        }
        // acks=0: the client expects no response at all.
        guard request.acks != 0 else { return .immediate(HandlerOutput(response: nil)) }
        guard !outcomes.isEmpty else { return .now(response) }
        return .later(EventLoopFuture.whenAllSucceed(outcomes.map(\.2), on: context.eventLoop).map { results in
            for ((topicIndex, partitionIndex, _), (result, code)) in zip(outcomes, results) {
                var answer = result
                if code != .none { answer.errorCode = code.rawValue }
                response.responses[topicIndex].partitionResponses[partitionIndex] = answer
            }
            return HandlerOutput(response: response)
        })
    }

    /// A partition's answer, and the outcome of its wait for the replicas (NONE when it had none).
    typealias ProducedPartition = (ProduceResponse.PartitionProduceResponse, ErrorCode)

    /// For a transactional batch that would open its producer's transaction on this partition (KIP-890, with
    /// `transaction.partition.verification.enable`): asks the coordinator, then appends under the verification's
    /// guard, or answers what the coordinator's refusal means to the producer. Nil when no verification is needed.
    private func verifyFirst(_ topic: String, _ data: ProduceRequest.PartitionProduceData, transactionalId: String?,
                             context: RequestContext,
                             _ append: @escaping (UInt64?) -> (ProduceResponse.PartitionProduceResponse, EventLoopFuture<ErrorCode>?))
        -> EventLoopFuture<ProducedPartition>? {
        guard config.transactions.partitionVerification, let transactionalId, let verifier, context.version >= 3,
              let bytes = data.records?.contiguousBytes, let header = RecordBatchHeader(bytes, at: bytes.readerIndex),
              header.isTransactional, let partition = replicas.partition(topic, data.index), partition.isLeader,
              partition.log.startsTransaction(header) else { return nil }
        let guardToken = partition.log.beginVerification(producerId: header.producerId)
        return verifier.verify(transactionalId: transactionalId, producerId: header.producerId, epoch: header.producerEpoch,
                               partition: TopicPartitionKey(topic, data.index), on: context.eventLoop)
            .flatMap { answer -> EventLoopFuture<ProducedPartition> in
                guard answer == .none else {
                    var refused = ProduceResponse.PartitionProduceResponse()
                    refused.index = data.index
                    refused.baseOffset = -1
                    refused.errorCode = TxnVerifier.produceError(for: answer).rawValue
                    refused.errorMessage = "the write was not verified with the transaction coordinator: \(answer.name)"
                    return context.eventLoop.makeSucceededFuture((refused, .none))
                }
                let (result, wait) = append(guardToken)
                guard let wait else { return context.eventLoop.makeSucceededFuture((result, .none)) }
                return wait.map { (result, $0) }
            }
    }

    private func appendToPartition(topic: String, data: ProduceRequest.PartitionProduceData, acks: Int16,
                                   timeoutMs: Int64, context: RequestContext, nowMs: Int64,
                                   verification: UInt64?) -> (ProduceResponse.PartitionProduceResponse, EventLoopFuture<ErrorCode>?) {
        var result = ProduceResponse.PartitionProduceResponse()
        result.index = data.index
        func fail(_ code: ErrorCode, _ message: String? = nil) -> (ProduceResponse.PartitionProduceResponse,
                                                                   EventLoopFuture<ErrorCode>?) {
            metrics.produced(topic: topic, records: 0, bytes: 0, failed: true)
            result.errorCode = code.rawValue
            result.errorMessage = message
            result.baseOffset = -1
            return (result, nil)
        }
        guard acks == 0 || acks == 1 || acks == -1 else { return fail(.invalidRequiredAcks) }
        // Kafka lets only its own admin client append to internal topics.
        if InternalTopicLog.isInternal(topic) && context.header.clientId != "__admin_client" {
            return fail(.invalidTopicException, "Cannot append to internal topic \(topic)")
        }
        guard let partition = replicas.partition(topic, data.index) else {
            return fail(controller.currentImage.topic(named: topic) == nil ? .unknownTopicOrPartition : .notLeaderOrFollower)
        }
        guard partition.isLeader else { return fail(.notLeaderOrFollower) }
        guard var batch = data.records?.contiguousBytes, batch.readableBytes > 0 else {
            return fail(.corruptMessage, "no records")
        }
        if context.version < 3 {
            // A message set (magic 0 or 1): stored as one record batch, as Kafka 3.x converts it.
            do {
                batch = try LegacyMessageSet.upConvert(batch, maxDecompressedBytes: validator.maxDecompressedBytes)
            } catch let error as BatchError {
                return fail(error.errorCode, error.description)
            } catch {
                return fail(.corruptMessage, "\(error)")
            }
        }
        let span: BatchSpan
        do {
            // Compacted topics refuse records without a key (Kafka's LogValidator: INVALID_RECORD).
            let summary = try validator.validate(batch, requireKeys: partition.log.currentConfig.compacts)
            guard summary.spans.count == 1 else {
                return fail(.invalidRecord, "produce requests carry exactly one record batch per partition")
            }
            span = summary.spans[0]
            let limit = partition.log.currentConfig.maxMessageBytes
            guard span.size <= limit else {
                return fail(.messageTooLarge, "batch of \(span.size) bytes exceeds max.message.bytes \(limit)")
            }
        } catch let error as BatchError {
            return fail(error.errorCode, error.description)
        } catch {
            return fail(.corruptMessage, "\(error)")
        }
        // Refuse before appending when too few replicas are in sync to make the write durable.
        if acks == -1 && Int32(partition.effectiveIsr.count) < partition.minInsyncReplicas {
            return fail(.notEnoughReplicas, "the ISR \(partition.effectiveIsr) is smaller than min.insync.replicas")
        }
        var logAppendTimeMs: Int64 = -1
        if partition.logAppendTime {
            RecordBatchHeader.stampLogAppendTime(nowMs, in: &batch, at: span.start)
            logAppendTimeMs = nowMs
        }
        do {
            let appended = try partition.log.appendAsLeader(&batch, span: span, leaderEpoch: partition.leaderEpoch,
                                                            verification: verification, nowMs: nowMs)
            if !appended.duplicate { replicas.appended(partition) }
            metrics.produced(topic: topic, records: appended.duplicate ? 0 : appended.lastOffset - appended.baseOffset + 1,
                             bytes: appended.duplicate ? 0 : span.size, failed: false)
            result.baseOffset = appended.baseOffset
            result.logAppendTimeMs = logAppendTimeMs
            result.logStartOffset = partition.log.logStartOffset
            guard acks == -1, partition.highWatermark <= appended.lastOffset, !Mutation.ackBeforeReplication.isActive
            else { return (result, nil) }
            return (result, replicas.producePurgatory.wait(for: partition, requiredOffset: appended.lastOffset + 1,
                                                           timeoutMs: timeoutMs, on: context.eventLoop))
        } catch let error as AppendError {
            switch error {
            case .outOfOrderSequence(let why):
                // Rare and fatal to an idempotent producer: worth a line in the broker's log.
                logger.warning("refused a batch for \(topic)-\(data.index) at leader epoch \(partition.leaderEpoch): \(why)")
                return fail(.outOfOrderSequenceNumber, why)
            case .invalidProducerEpoch(let why): return fail(.invalidProducerEpoch, why)
            case .invalidTxnState(let why): return fail(.invalidTxnState, why)
            case .transactionCoordinatorFenced(let why): return fail(.transactionCoordinatorFenced, why)
            }
        } catch {
            logger.error("append to \(topic)-\(data.index) failed: \(error)")
            return fail(.kafkaStorageError, "\(error)")
        }
    }
}

extension BatchError {
    var errorCode: ErrorCode {
        switch self {
        case .corrupt: return .corruptMessage
        case .tooLarge: return .messageTooLarge
        case .invalidRecord: return .invalidRecord
        case .unsupportedMagic: return .unsupportedForMessageFormat
        case .unsupportedCompression: return .unsupportedCompressionType
        }
    }
}
