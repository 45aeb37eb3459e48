import CrucibleProtocol
import CrucibleRaft
import NIOCore

/// Fetch and FetchSnapshot: the pull side of replication.
extension RaftWire {
    // MARK: Fetch

    static func request(_ fetch: CrucibleRaft.FetchRequest) -> CrucibleProtocol.FetchRequest {
        var partition = CrucibleProtocol.FetchRequest.FetchPartition()
        partition.currentLeaderEpoch = fetch.currentLeaderEpoch
        partition.fetchOffset = fetch.fetchOffset
        partition.lastFetchedEpoch = fetch.lastFetchedEpoch
        partition.partitionMaxBytes = Int32.max
        var topic = CrucibleProtocol.FetchRequest.FetchTopic()
        topic.topic = topicName
        topic.topicId = .metadataTopicId
        topic.partitions = [partition]
        var request = CrucibleProtocol.FetchRequest()
        request.replicaId = fetch.replicaID
        request.replicaState.replicaId = fetch.replicaID
        request.maxWaitMs = Int32(clamping: fetch.maxWaitMs)
        request.minBytes = 1
        request.topics = [topic]
        return request
    }

    /// Whether a Fetch is for the metadata log (the controller listener serves nothing else).
    static func isMetadataFetch(_ request: CrucibleProtocol.FetchRequest) -> Bool {
        guard let topic = request.topics.first else { return false }
        return topic.topic == topicName || topic.topicId == .metadataTopicId
    }

    static func message(_ request: CrucibleProtocol.FetchRequest) -> (RaftNodeID, RaftMessageBody)? {
        guard isMetadataFetch(request), let partition = request.topics.first?.partitions.first else { return nil }
        let replica = request.replicaId >= 0 ? request.replicaId : request.replicaState.replicaId
        guard replica >= 0 else { return nil }
        return (replica, .fetchRequest(CrucibleRaft.FetchRequest(
            replicaID: replica, currentLeaderEpoch: partition.currentLeaderEpoch, fetchOffset: partition.fetchOffset,
            lastFetchedEpoch: partition.lastFetchedEpoch, maxWaitMs: Int64(request.maxWaitMs))))
    }

    /// `batches` holds the entries as record batches, already numbered with their Kafka record offsets.
    static func response(_ fetch: CrucibleRaft.FetchResponse, batches: ByteBuffer) -> CrucibleProtocol.FetchResponse {
        var partition = CrucibleProtocol.FetchResponse.PartitionData()
        partition.errorCode = fetch.errorCode.rawValue
        partition.highWatermark = fetch.highWatermark
        partition.logStartOffset = fetch.logStartOffset
        partition.currentLeader.leaderId = fetch.current.leaderID ?? -1
        partition.currentLeader.leaderEpoch = fetch.current.epoch
        if let diverging = fetch.divergingEpoch {
            partition.divergingEpoch.epoch = diverging.epoch
            partition.divergingEpoch.endOffset = diverging.offset
        }
        if let snapshot = fetch.snapshotID {
            partition.snapshotId.endOffset = snapshot.offset
            partition.snapshotId.epoch = snapshot.epoch
        }
        partition.records = KafkaRecords(batches)
        var topic = CrucibleProtocol.FetchResponse.FetchableTopicResponse()
        topic.topic = topicName
        topic.topicId = .metadataTopicId
        topic.partitions = [partition]
        var response = CrucibleProtocol.FetchResponse()
        response.responses = [topic]
        return response
    }

    /// The entries start at the fetch offset of the request this answers.
    static func message(_ response: CrucibleProtocol.FetchResponse, fetchOffset: Int64) throws -> RaftMessageBody? {
        guard let partition = response.responses.first?.partitions.first else { return nil }
        let code = response.errorCode != 0 ? response.errorCode : partition.errorCode
        let diverging = partition.divergingEpoch.endOffset >= 0
            ? OffsetAndEpoch(offset: partition.divergingEpoch.endOffset, epoch: partition.divergingEpoch.epoch) : nil
        let snapshot = partition.snapshotId.endOffset >= 0
            ? SnapshotID(offset: partition.snapshotId.endOffset, epoch: partition.snapshotId.epoch) : nil
        let entries = try partition.records?.contiguousBytes.map {
            try MetadataEntryCodec.entries(in: $0, firstOffset: fetchOffset)
        } ?? []
        return .fetchResponse(CrucibleRaft.FetchResponse(
            errorCode: error(code), current: leader(partition.currentLeader.leaderId, partition.currentLeader.leaderEpoch),
            highWatermark: partition.highWatermark, logStartOffset: partition.logStartOffset,
            divergingEpoch: diverging, snapshotID: snapshot, entries: entries))
    }

    // MARK: FetchSnapshot

    static func request(_ fetch: CrucibleRaft.FetchSnapshotRequest, clusterId: String) -> CrucibleProtocol.FetchSnapshotRequest {
        var partition = CrucibleProtocol.FetchSnapshotRequest.PartitionSnapshot()
        partition.currentLeaderEpoch = fetch.currentLeaderEpoch
        partition.snapshotId.endOffset = fetch.snapshotID.offset
        partition.snapshotId.epoch = fetch.snapshotID.epoch
        partition.position = fetch.position
        var topic = CrucibleProtocol.FetchSnapshotRequest.TopicSnapshot()
        topic.name = topicName
        topic.partitions = [partition]
        var request = CrucibleProtocol.FetchSnapshotRequest()
        request.clusterId = clusterId
        request.replicaId = fetch.replicaID
        request.topics = [topic]
        return request
    }

    static func message(_ request: CrucibleProtocol.FetchSnapshotRequest) -> (RaftNodeID, RaftMessageBody)? {
        guard let partition = request.topics.first?.partitions.first, request.replicaId >= 0 else { return nil }
        return (request.replicaId, .fetchSnapshotRequest(CrucibleRaft.FetchSnapshotRequest(
            replicaID: request.replicaId, currentLeaderEpoch: partition.currentLeaderEpoch,
            snapshotID: SnapshotID(offset: partition.snapshotId.endOffset, epoch: partition.snapshotId.epoch),
            position: partition.position)))
    }

    static func response(_ fetch: CrucibleRaft.FetchSnapshotResponse) -> CrucibleProtocol.FetchSnapshotResponse {
        var partition = CrucibleProtocol.FetchSnapshotResponse.PartitionSnapshot()
        partition.errorCode = fetch.errorCode.rawValue
        partition.snapshotId.endOffset = fetch.snapshotID.offset
        partition.snapshotId.epoch = fetch.snapshotID.epoch
        partition.currentLeader.leaderId = fetch.current.leaderID ?? -1
        partition.currentLeader.leaderEpoch = fetch.current.epoch
        partition.size = fetch.size
        partition.position = fetch.position
        partition.unalignedRecords = KafkaRecords(ByteBuffer(bytes: fetch.bytes))
        var topic = CrucibleProtocol.FetchSnapshotResponse.TopicSnapshot()
        topic.name = topicName
        topic.partitions = [partition]
        var response = CrucibleProtocol.FetchSnapshotResponse()
        response.topics = [topic]
        return response
    }

    static func message(_ response: CrucibleProtocol.FetchSnapshotResponse) -> RaftMessageBody? {
        guard let partition = response.topics.first?.partitions.first else { return nil }
        let code = response.errorCode != 0 ? response.errorCode : partition.errorCode
        let bytes = partition.unalignedRecords?.contiguousBytes.map { Array($0.readableBytesView) } ?? []
        return .fetchSnapshotResponse(CrucibleRaft.FetchSnapshotResponse(
            errorCode: error(code), current: leader(partition.currentLeader.leaderId, partition.currentLeader.leaderEpoch),
            snapshotID: SnapshotID(offset: partition.snapshotId.endOffset, epoch: partition.snapshotId.epoch),
            size: partition.size, position: partition.position, bytes: bytes))
    }
}
