#if canImport(Glibc)
import Glibc
#endif
import CrucibleController
import CrucibleMutations
import CrucibleProtocol
import CrucibleRecords
import CrucibleStorage
import NIOConcurrencyHelpers
import NIOCore

/// One partition's part of a fetch: where the data is, before any file is opened for sending.
private struct PartitionRead {
    var response = FetchResponse.PartitionData()
    var slices: [LogSlice] = []
    var bytes: Int { slices.reduce(0) { $0 + $1.length } }
}

private struct TopicRead {
    var topic: String
    var topicId: KafkaUUID
    var partitions: [PartitionRead]
}

extension BrokerApis {
    func fetch(_ request: FetchRequest, _ context: RequestContext) throws -> Reply<FetchResponse> {
        let version = context.version
        // A follower needs CLUSTER_ACTION on the cluster, a consumer READ on each topic; refused topics are
        // answered with the error at once, with whatever the others have now.
        let follower = request.replicaId >= 0 || request.replicaState.replicaId >= 0
        context.metricsName?.withLockedValue { $0 = follower ? "FetchFollower" : "FetchConsumer" }
        let denied = request.topics.filter { topic in
            follower ? !allowedOnCluster(context, .clusterAction)
                : !allowed(context, .read, .topic, resolveName(topic, version: version) ?? "")
        }
        if !denied.isEmpty {
            var permitted = request
            permitted.topics = request.topics.filter { topic in !denied.contains { $0.topic == topic.topic && $0.topicId == topic.topicId } }
            var output = try respond(readAll(permitted, version: version), version: version, consumer: !follower)
            output.response?.responses += denied.map { topic in
                var refused = FetchResponse.FetchableTopicResponse()
                refused.topic = topic.topic
                refused.topicId = topic.topicId
                refused.partitions = topic.partitions.map { partition in
                    var data = FetchResponse.PartitionData()
                    data.partitionIndex = partition.partition
                    data.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                    data.highWatermark = -1
                    return data
                }
                return refused
            }
            return .immediate(output)
        }
        let first = readAll(request, version: version)
        let available = first.reduce(0) { $0 + $1.partitions.reduce(0) { $0 + $1.bytes } }
        let hasError = first.contains { $0.partitions.contains { $0.response.errorCode != 0 } }
        if available >= Int(request.minBytes) || request.maxWaitMs <= 0 || hasError {
            return .immediate(try respond(first, version: version, consumer: !follower))
        }
        return .later(longPoll(request, version: version, context: context))
    }

    /// Waits until `min.bytes` are available or `max.wait.ms` passes, re-reading on every append that moves the
    /// high watermark of a partition in the request.
    private func longPoll(_ request: FetchRequest, version: Int16,
                          context: RequestContext) -> EventLoopFuture<HandlerOutput<FetchResponse>> {
        let loop = context.eventLoop
        let promise = loop.makePromise(of: HandlerOutput<FetchResponse>.self)
        let keys = request.topics.flatMap { topic in
            topic.partitions.map { ReplicaManager.key(resolveName(topic, version: version) ?? "", $0.partition) }
        }
        let done = NIOLockedValueBox(false)
        let token = NIOLockedValueBox(0)
        @Sendable func finish() {
            guard done.withLockedValue({ let was = $0; $0 = true; return !was }) else { return }
            replicas.fetchWaiters.remove(token.withLockedValue { $0 }, from: keys)
            let consumer = request.replicaId < 0 && request.replicaState.replicaId < 0
            promise.completeWith(Result { try self.respond(self.readAll(request, version: version), version: version, consumer: consumer) })
        }
        let timeout = loop.scheduleTask(in: .milliseconds(Int64(request.maxWaitMs))) { finish() }
        @Sendable func recheck() {
            loop.execute {
                guard !done.withLockedValue({ $0 }) else { return }
                let reads = self.readAll(request, version: version)
                if reads.reduce(0, { $0 + $1.partitions.reduce(0) { $0 + $1.bytes } }) >= Int(request.minBytes) {
                    timeout.cancel()
                    finish()
                }
            }
        }
        token.withLockedValue { value in value = replicas.fetchWaiters.register(keys) { recheck() } }
        // An append between the first read and the registration woke nobody: look once more now that a wake
        // would reach this fetch. Missing it parked a follower for max.wait.ms, and every acks=all produce
        // behind it on that partition waited as long (the 0.5 s latency spikes under load).
        recheck()
        return promise.futureResult
    }

    private func resolveName(_ topic: FetchRequest.FetchTopic, version: Int16) -> String? {
        version >= 13 ? controller.currentImage.topic(id: topic.topicId)?.name : topic.topic
    }

    private func readAll(_ request: FetchRequest, version: Int16) -> [TopicRead] {
        var budget = Int(request.maxBytes)
        var anyData = false
        let readCommitted = request.isolationLevel == 1
        let replica = version >= 15 ? request.replicaState.replicaId : request.replicaId
        return request.topics.map { topic in
            let name = resolveName(topic, version: version)
            return TopicRead(topic: name ?? topic.topic, topicId: topic.topicId, partitions: topic.partitions.map { wanted in
                var read = PartitionRead()
                read.response.partitionIndex = wanted.partition
                read.response.abortedTransactions = readCommitted ? [] : nil
                guard let name else {
                    read.response.errorCode = ErrorCode.unknownTopicId.rawValue
                    return read
                }
                read.response.errorCode = readPartition(name, wanted, readCommitted: readCommitted, replica: replica,
                                                        clientRack: version >= 11 ? request.rackId : nil,
                                                        budget: &budget, anyData: &anyData, into: &read).rawValue
                return read
            })
        }
    }

    /// Reads one partition for a consumer (up to the high watermark or last stable offset) or for a follower
    /// (`replica` >= 0: up to the log end, after checking its log has not diverged, and noting how far it has).
    /// `clientRack` is set for consumers whose Fetch can carry a rack (v11+): those may read from a follower
    /// (KIP-392), and a leader may send them to one in their rack.
    private func readPartition(_ topic: String, _ wanted: FetchRequest.FetchPartition, readCommitted: Bool, replica: Int32,
                               clientRack: String?,
                               budget: inout Int, anyData: inout Bool, into read: inout PartitionRead) -> ErrorCode {
        read.response.highWatermark = -1
        read.response.lastStableOffset = -1
        read.response.logStartOffset = -1
        guard let partition = replicas.partition(topic, wanted.partition) else {
            return controller.currentImage.topic(named: topic) == nil ? .unknownTopicOrPartition : .notLeaderOrFollower
        }
        let servingAsFollower = !partition.isLeader
        guard !servingAsFollower || (replica < 0 && clientRack != nil) else { return .notLeaderOrFollower }
        let epoch = partition.leaderEpoch
        if wanted.currentLeaderEpoch >= 0 && wanted.currentLeaderEpoch != epoch {
            return wanted.currentLeaderEpoch > epoch ? .unknownLeaderEpoch : .fencedLeaderEpoch
        }
        if replica >= 0 {
            if let (divergedEpoch, divergedEnd) = partition.divergence(fetchOffset: wanted.fetchOffset,
                                                                       lastFetchedEpoch: wanted.lastFetchedEpoch) {
                read.response.divergingEpoch.epoch = divergedEpoch
                read.response.divergingEpoch.endOffset = divergedEnd >= 0 ? divergedEnd : partition.log.logStartOffset
                read.response.highWatermark = partition.highWatermark
                return .none
            }
            replicas.followerFetched(partition, replica: replica, offset: wanted.fetchOffset)
        }
        if replica < 0, !servingAsFollower, let clientRack, !clientRack.isEmpty,
           let preferred = preferredReadReplica(partition, clientRack: clientRack, fetchOffset: wanted.fetchOffset) {
            // The consumer goes to the follower in its rack: no records from here (Kafka does the same).
            read.response.preferredReadReplica = preferred
            read.response.highWatermark = partition.highWatermark
            read.response.lastStableOffset = partition.lastStableOffset
            read.response.logStartOffset = partition.log.logStartOffset
            return .none
        }
        let throttled = replica >= 0 && partition.settingsSnapshot.leaderThrottled && !partition.isInSync(replica)
        if throttled && replicas.leaderQuota.isExceeded(nowMs: Clock.nowMs()) {
            read.response.highWatermark = partition.highWatermark
            read.response.logStartOffset = partition.log.logStartOffset
            return .none
        }
        if servingAsFollower { followerReads.noteFirst(partition, rack: clientRack ?? "", logger: logger) }
        let highWatermark = partition.highWatermark
        let end = replica >= 0 || Mutation.readPastHighWatermark.isActive ? partition.log.logEndOffset
            : readCommitted && !Mutation.lsoIgnoresOpenTransactions.isActive ? partition.lastStableOffset : highWatermark
        read.response.highWatermark = highWatermark
        read.response.lastStableOffset = partition.lastStableOffset
        read.response.logStartOffset = partition.log.logStartOffset
        read.response.currentLeader.leaderId = servingAsFollower ? partition.image.leader : nodeId
        read.response.currentLeader.leaderEpoch = epoch
        guard wanted.fetchOffset <= end else {
            // Asking past the high watermark but within the log is "not yet", not out of range.
            return wanted.fetchOffset <= partition.log.logEndOffset ? .none : .offsetOutOfRange
        }
        guard wanted.fetchOffset < end else { return .none }
        // KIP-74: the first batch of the response is returned even when larger than the limits.
        let limit = anyData ? min(budget, Int(wanted.partitionMaxBytes)) : Int(wanted.partitionMaxBytes)
        guard limit > 0 || !anyData else { return .none }
        do {
            read.slices = try partition.log.read(from: wanted.fetchOffset, maxBytes: max(limit, 1), endOffset: end)
        } catch PartitionLog.ReadError.offsetOutOfRange {
            return .offsetOutOfRange
        } catch {
            logger.error("read of \(topic)-\(wanted.partition) failed: \(error)")
            return .kafkaStorageError
        }
        if readCommitted && !Mutation.noAbortedTransactionsInFetch.isActive {
            // Consumers drop these producers' batches from each first offset until the producer's ABORT marker.
            read.response.abortedTransactions = partition.log.abortedTransactions(from: wanted.fetchOffset, upTo: end).map {
                var aborted = FetchResponse.AbortedTransaction()
                aborted.producerId = $0.producerId
                aborted.firstOffset = $0.firstOffset
                return aborted
            }
        }
        budget -= read.bytes
        anyData = anyData || read.bytes > 0
        if throttled { replicas.leaderQuota.record(bytes: read.bytes, nowMs: Clock.nowMs()) }
        return .none
    }

    /// Builds the response; records go out as file regions on a duplicate descriptor (closed after the write)
    /// except below Fetch v10, where zstd batches must be refused and the bytes are read to check (and below v4
    /// converted to message sets).
    private func respond(_ reads: [TopicRead], version: Int16, consumer: Bool) throws -> HandlerOutput<FetchResponse> {
        // BytesOut counts what consumers are sent (followers' fetches are replication).
        if consumer {
            for topic in reads {
                for partition in topic.partitions {
                    metrics.fetched(topic: topic.topic, bytes: partition.bytes, failed: partition.response.errorCode != 0)
                }
            }
        }
        var output = HandlerOutput<FetchResponse>(response: nil)
        var response = FetchResponse()
        defer { if output.response == nil { for handle in output.fileHandles { try? handle.close() } } }
        response.responses = try reads.map { topic in
            var entry = FetchResponse.FetchableTopicResponse()
            entry.topic = topic.topic
            entry.topicId = topic.topicId
            entry.partitions = try topic.partitions.map { read in
                var data = read.response
                // Clients (librdkafka among them) expect an empty record set, not a null one.
                data.records = KafkaRecords(ByteBuffer())
                guard !read.slices.isEmpty else { return data }
                if version < 10 {
                    var bytes = ByteBuffer()
                    for slice in read.slices {
                        var chunk = try slice.file.read(at: slice.position, count: slice.length)
                        bytes.writeBuffer(&chunk)
                    }
                    let spans = try RecordBatch.spans(in: bytes, allowPartialTail: true)
                    if spans.contains(where: { $0.header.compression == .zstd }) {
                        data.errorCode = ErrorCode.unsupportedCompressionType.rawValue
                        return data
                    }
                    // Below v4 a client reads message sets (magic 1 from v2, 0 before): converted down, as Kafka
                    // 3.x does.
                    data.records = KafkaRecords(version < 4 ? try LegacyMessageSet.downConvert(bytes, magic: version < 2 ? 0 : 1)
                                                            : bytes)
                    return data
                }
                var chunks: [KafkaRecords.Chunk] = []
                for slice in read.slices {
                    let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: dup(slice.file.descriptor))
                    output.fileHandles.append(handle)
                    chunks.append(.file(FileRegion(fileHandle: handle, readerIndex: slice.position,
                                                   endIndex: slice.position + slice.length)))
                }
                data.records = KafkaRecords(chunks: chunks)
                return data
            }
            return entry
        }
        output.response = response
        return output
    }
}
