import CrucibleProtocol
import CrucibleRecords
import CrucibleStorage
import NIOCore

/// WriteTxnMarkers: a transaction coordinator has each partition's leader end a producer's transaction with a
/// COMMIT or ABORT marker. A marker is written as acks=all (the coordinator completes the transaction only once
/// every marker is durable), and refused when the producer has moved to a newer epoch or a newer coordinator
/// has written there.
extension BrokerApis {
    /// How long a marker waits for the ISR before the coordinator is told to retry.
    static let markerReplicationTimeoutMs: Int64 = 30_000

    func writeTxnMarkers(_ request: WriteTxnMarkersRequest, _ context: RequestContext) throws -> Reply<WriteTxnMarkersResponse> {
        .later(writeMarkers(request, nowMs: context.nowMs, on: context.eventLoop).map { HandlerOutput(response: $0) })
    }

    /// Writes every marker of `request` on the partitions this node leads; the answer comes once all are durable
    /// or refused. The transaction coordinator calls it directly for the partitions it leads itself.
    func writeMarkers(_ request: WriteTxnMarkersRequest, nowMs: Int64, on eventLoop: EventLoop) -> EventLoopFuture<WriteTxnMarkersResponse> {
        var response = WriteTxnMarkersResponse()
        var waits: [(marker: Int, topic: Int, partition: Int, wait: EventLoopFuture<ErrorCode>)] = []
        response.markers = request.markers.enumerated().map { markerIndex, marker in
            var result = WriteTxnMarkersResponse.WritableTxnMarkerResult()
            result.producerId = marker.producerId
            result.topics = marker.topics.enumerated().map { topicIndex, topic in
                var topicResult = WriteTxnMarkersResponse.WritableTxnMarkerTopicResult()
                topicResult.name = topic.name
                topicResult.partitions = topic.partitionIndexes.enumerated().map { partitionIndex, index in
                    var partitionResult = WriteTxnMarkersResponse.WritableTxnMarkerPartitionResult()
                    partitionResult.partitionIndex = index
                    let (code, wait) = writeMarker(marker, topic: topic.name, partition: index, nowMs: nowMs, on: eventLoop)
                    partitionResult.errorCode = code.rawValue
                    if let wait { waits.append((markerIndex, topicIndex, partitionIndex, wait)) }
                    return partitionResult
                }
                return topicResult
            }
            return result
        }
        guard !waits.isEmpty else { return eventLoop.makeSucceededFuture(response) }
        return EventLoopFuture.whenAllSucceed(waits.map(\.wait), on: eventLoop).map { codes in
            for (slot, code) in zip(waits, codes) where code != .none {
                response.markers[slot.marker].topics[slot.topic].partitions[slot.partition].errorCode = code.rawValue
            }
            return response
        }
    }

    private func writeMarker(_ marker: WriteTxnMarkersRequest.WritableTxnMarker, topic: String, partition index: Int32,
                             nowMs: Int64, on eventLoop: EventLoop) -> (ErrorCode, EventLoopFuture<ErrorCode>?) {
        guard let partition = replicas.partition(topic, index) else {
            return (controller.currentImage.topic(named: topic) == nil ? .unknownTopicOrPartition : .notLeaderOrFollower, nil)
        }
        guard partition.isLeader else { return (.notLeaderOrFollower, nil) }
        guard Int32(partition.effectiveIsr.count) >= partition.minInsyncReplicas else { return (.notEnoughReplicas, nil) }
        do {
            let appended = try partition.log.appendMarker(marker.transactionResult ? .commit : .abort, producerId: marker.producerId,
                                                          producerEpoch: marker.producerEpoch, coordinatorEpoch: marker.coordinatorEpoch,
                                                          leaderEpoch: partition.leaderEpoch, nowMs: nowMs)
            replicas.appended(partition)
            // Offsets a transaction committed to a group count once its marker is durable.
            let groupOffsets = topic == OffsetsTopicLog.topic
            func durable() {
                if groupOffsets { groups.completeTransaction(partition: index, producerId: marker.producerId, commit: marker.transactionResult) }
            }
            guard partition.highWatermark <= appended.lastOffset else {
                durable()
                return (.none, nil)
            }
            let wait = replicas.producePurgatory.wait(for: partition, requiredOffset: appended.lastOffset + 1,
                                                      timeoutMs: Self.markerReplicationTimeoutMs, on: eventLoop)
            wait.whenSuccess { code in if code == .none { durable() } }
            return (.none, wait)
        } catch AppendError.invalidProducerEpoch(let why) {
            logger.info("refused a marker for \(topic)-\(index): \(why)")
            return (.invalidProducerEpoch, nil)
        } catch AppendError.transactionCoordinatorFenced(let why) {
            logger.info("refused a marker for \(topic)-\(index): \(why)")
            return (.transactionCoordinatorFenced, nil)
        } catch {
            logger.error("marker append to \(topic)-\(index) failed: \(error)")
            return (.kafkaStorageError, nil)
        }
    }
}
