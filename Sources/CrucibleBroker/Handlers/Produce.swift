import CrucibleProtocol
import CrucibleRecords
import CrucibleStorage
import NIOCore

extension BrokerApis {
    func produce(_ request: ProduceRequest, _ context: RequestContext) throws -> Reply<ProduceResponse> {
        var response = ProduceResponse()
        let nowMs = context.nowMs
        response.responses = request.topicData.map { topic in
            var topicResponse = ProduceResponse.TopicProduceResponse()
            topicResponse.name = topic.name
            topicResponse.partitionResponses = topic.partitionData.map { data in
                appendToPartition(topic: topic.name, data: data, acks: request.acks, nowMs: nowMs)
            }
            return topicResponse
        }
        // acks=0: the client expects no response at all.
        return .immediate(HandlerOutput(response: request.acks == 0 ? nil : response))
    }

    private func appendToPartition(topic: String, data: ProduceRequest.PartitionProduceData, acks: Int16,
                                   nowMs: Int64) -> ProduceResponse.PartitionProduceResponse {
        var result = ProduceResponse.PartitionProduceResponse()
        result.index = data.index
        func fail(_ code: ErrorCode, _ message: String? = nil) -> ProduceResponse.PartitionProduceResponse {
            result.errorCode = code.rawValue
            result.errorMessage = message
            result.baseOffset = -1
            return result
        }
        guard acks == 0 || acks == 1 || acks == -1 else { return fail(.invalidRequiredAcks) }
        guard let partition = replicas.partition(topic, data.index) else {
            return fail(controller.currentImage.topic(named: topic) == nil ? .unknownTopicOrPartition : .notLeaderOrFollower)
        }
        guard partition.isLeader(on: nodeId) else { return fail(.notLeaderOrFollower) }
        guard var batch = data.records?.contiguousBytes, batch.readableBytes > 0 else {
            return fail(.corruptMessage, "no records")
        }
        let span: BatchSpan
        do {
            let summary = try validator.validate(batch)
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
        if acks == -1 && Int32(partition.image.isr.count) < partition.minInsyncReplicas {
            return fail(.notEnoughReplicas)
        }
        var logAppendTimeMs: Int64 = -1
        if partition.logAppendTime {
            RecordBatchHeader.stampLogAppendTime(nowMs, in: &batch, at: span.start)
            logAppendTimeMs = nowMs
        }
        do {
            let appended = try partition.log.appendAsLeader(&batch, span: span, leaderEpoch: partition.leaderEpoch,
                                                            nowMs: nowMs)
            if !appended.duplicate && partition.appendedLocally() { replicas.highWatermarkMoved(partition) }
            result.baseOffset = appended.baseOffset
            result.logAppendTimeMs = logAppendTimeMs
            result.logStartOffset = partition.log.logStartOffset
            return result
        } catch let error as AppendError {
            switch error {
            case .outOfOrderSequence(let why): return fail(.outOfOrderSequenceNumber, why)
            case .invalidProducerEpoch(let why): return fail(.invalidProducerEpoch, why)
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
