import CrucibleMutations
import CrucibleProtocol
import CrucibleRecords
import CrucibleStorage
import NIOCore

extension BrokerApis {
    func produce(_ request: ProduceRequest, _ context: RequestContext) throws -> Reply<ProduceResponse> {
        var response = ProduceResponse()
        let nowMs = context.nowMs
        // acks=all partitions whose batch is not yet under the high watermark: (topic index, partition index, wait).
        var waits: [(Int, Int, EventLoopFuture<ErrorCode>)] = []
        response.responses = request.topicData.enumerated().map { topicIndex, topic in
            var topicResponse = ProduceResponse.TopicProduceResponse()
            topicResponse.name = topic.name
            topicResponse.partitionResponses = topic.partitionData.enumerated().map { partitionIndex, data in
                let (result, wait) = appendToPartition(topic: topic.name, data: data, acks: request.acks,
                                                       timeoutMs: Int64(request.timeoutMs), context: context, nowMs: nowMs)
                if let wait { waits.append((topicIndex, partitionIndex, wait)) }
                return result
            }
            return topicResponse
        }
        // acks=0: the client expects no response at all.
        guard request.acks != 0 else { return .immediate(HandlerOutput(response: nil)) }
        guard !waits.isEmpty else { return .now(response) }
        return .later(EventLoopFuture.whenAllSucceed(waits.map(\.2), on: context.eventLoop).map { codes in
            for ((topicIndex, partitionIndex, _), code) in zip(waits, codes) where code != .none {
                response.responses[topicIndex].partitionResponses[partitionIndex].errorCode = code.rawValue
            }
            return HandlerOutput(response: response)
        })
    }

    private func appendToPartition(topic: String, data: ProduceRequest.PartitionProduceData, acks: Int16,
                                   timeoutMs: Int64, context: RequestContext,
                                   nowMs: Int64) -> (ProduceResponse.PartitionProduceResponse, EventLoopFuture<ErrorCode>?) {
        var result = ProduceResponse.PartitionProduceResponse()
        result.index = data.index
        func fail(_ code: ErrorCode, _ message: String? = nil) -> (ProduceResponse.PartitionProduceResponse,
                                                                   EventLoopFuture<ErrorCode>?) {
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
                                                            nowMs: nowMs)
            if !appended.duplicate { replicas.appended(partition) }
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
