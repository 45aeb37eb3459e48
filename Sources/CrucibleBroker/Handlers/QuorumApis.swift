import CrucibleController
import CrucibleProtocol
import CrucibleSecurity
import NIOCore

extension BrokerApis {
    /// The client listener's APIs. In a cluster (`forwarding` set) the metadata changes go to the active
    /// controller when this node is not it. DescribeQuorum is answered here too, as Kafka's brokers do.
    func clientTable(forwarding: ControllerForwarding?) -> ApiTable {
        var table = table()
        serveAcls(in: &table, forwarding: forwarding)
        guard let forwarding else {
            table.serve(DescribeQuorumRequest.self, versions: 0...2) { [self] _, _ in .now(describeLocalQuorum()) }
            guardAuthorization(in: &table)
            return table
        }
        serveControllerDecisions(in: &table, forwarding: forwarding)
        // Topic configs are described from the active controller's image, the freshest there is, so a client that
        // altered a config reads it back whichever node it asks (a broker's own configs stay local).
        let forwardedDescribe = forwarding.wrap(describeConfigs, refusal: ControllerRefusal.describeConfigs)
        table.serve(DescribeConfigsRequest.self, versions: 0...4) { [self] request, context in
            request.resources.allSatisfy({ $0.resourceType == ConfigResourceType.topic })
                ? try forwardedDescribe(request, context) : try describeConfigs(request, context)
        }
        table.serve(DescribeQuorumRequest.self, versions: 0...2,
                    forwarding.wrap(describeRaftQuorum, refusal: ControllerRefusal.describeQuorum))
        guardAuthorization(in: &table)
        return table
    }

    /// The APIs whose answer the active controller decides: served here when `forwarding` is nil (a single
    /// node, or the controller listener), otherwise sent to the leader whenever this node does not lead.
    func serveControllerDecisions(in table: inout ApiTable, forwarding: ControllerForwarding?) {
        func serve<Request: KafkaRequest>(_ type: Request.Type, _ versions: ClosedRange<Int16>,
                                          _ handler: @escaping (Request, RequestContext) throws -> Reply<Request.Response>,
                                          _ refusal: @escaping (Request, ErrorCode) -> Request.Response) {
            table.serve(type, versions: versions, forwarding.map { $0.wrap(handler, refusal: refusal) } ?? handler)
        }
        serve(CreateTopicsRequest.self, 0...7, createTopics, ControllerRefusal.createTopics)
        serve(DeleteTopicsRequest.self, 0...6, deleteTopics, ControllerRefusal.deleteTopics)
        serve(AlterConfigsRequest.self, 0...2, alterConfigs, ControllerRefusal.alterConfigs)
        serve(IncrementalAlterConfigsRequest.self, 0...1, incrementalAlterConfigs, ControllerRefusal.incrementalAlterConfigs)
        // A transactional id is its coordinator's, wherever that runs; producer ids alone are the controller's.
        let producerIdsOnly = forwarding.map { $0.wrap(initProducerId, refusal: ControllerRefusal.initProducerId) } ?? initProducerId
        table.serve(InitProducerIdRequest.self, versions: 0...5) { [self] request, context in
            request.transactionalId == nil ? try producerIdsOnly(request, context) : try transactionalInitProducerId(request, context)
        }
        serve(CreatePartitionsRequest.self, 0...3, createPartitions, ControllerRefusal.createPartitions)
        serve(ElectLeadersRequest.self, 0...2, electLeaders, ControllerRefusal.electLeaders)
        serve(AlterPartitionReassignmentsRequest.self, 0...0, alterPartitionReassignments,
              ControllerRefusal.alterPartitionReassignments)
        serve(AlterUserScramCredentialsRequest.self, 0...0, alterUserScramCredentials,
              ControllerRefusal.alterUserScramCredentials)
    }

    /// The controller listener's APIs: the quorum's own RPCs, DescribeQuorum, and the requests other nodes
    /// forward to the active controller. Those are answered by this node's controller and never forwarded
    /// again, so a leadership change cannot bounce a request between nodes. Extend it with further controller
    /// RPCs (BrokerHeartbeat, AlterPartition) as they come.
    func controllerTable(quorum: RaftMetadataQuorum) -> ApiTable {
        var table = ApiTable()
        func answer<Response>(_ future: EventLoopFuture<Response>) -> Reply<Response> {
            .later(future.map { HandlerOutput(response: $0) })
        }
        table.serve(VoteRequest.self, versions: 0...1) { request, _ in answer(quorum.handle(request)) }
        table.serve(BeginQuorumEpochRequest.self, versions: 0...1) { request, _ in answer(quorum.handle(request)) }
        table.serve(EndQuorumEpochRequest.self, versions: 0...1) { request, _ in answer(quorum.handle(request)) }
        // Raft's Fetch needs v12 (last fetched epoch, diverging epoch, snapshot id), and only the metadata topic.
        table.serve(FetchRequest.self, versions: 12...16) { request, context in
            // A voter or observer replicating the metadata log: a follower's fetch, to RequestMetrics as to Kafka.
            context.metricsName?.withLockedValue { $0 = "FetchFollower" }
            return answer(quorum.handle(request))
        }
        table.serve(FetchSnapshotRequest.self, versions: 0...1) { request, _ in answer(quorum.handle(request)) }
        table.serve(DescribeQuorumRequest.self, versions: 0...2) { _, _ in answer(quorum.describe()) }
        serveControllerDecisions(in: &table, forwarding: nil)
        table.serve(DescribeConfigsRequest.self, versions: 0...4, describeConfigs)
        ControllerApis.register(into: &table, controller: controller)
        serveSecurity(in: &table)
        serveAcls(in: &table, forwarding: nil)
        admitOnlyPeers(to: &table)
        return table
    }

    /// What arrives on the controller listener comes from the other nodes (Raft, registrations, heartbeats, and
    /// requests forwarded after the forwarding node checked its client's principal), so with an authorizer only a
    /// principal with CLUSTER_ACTION on the cluster may use it, as Kafka's controller asks of its peers; describing
    /// the quorum (`metadata-quorum --bootstrap-controller`) needs DESCRIBE. Anyone else's connection is closed.
    private func admitOnlyPeers(to table: inout ApiTable) {
        guard config.security.authorizerEnabled else { return }
        table.admitting({ [self] api, context in
            guard let authorizer = currentAuthorizer() else { return true }
            let host = String(context.clientHost.drop { $0 == "/" })
            let peer = authorizer.authorize(context.principal, host: host, .clusterAction, .cluster, Authorizer.clusterName)
            return peer || (api == .describeQuorum && authorizer.authorize(context.principal, host: host, .describe, .cluster, Authorizer.clusterName))
        }, refusal: "the controller listener serves the cluster's nodes (CLUSTER_ACTION on the cluster)")
    }

    private func describeRaftQuorum(_ request: DescribeQuorumRequest,
                                    _ context: RequestContext) throws -> Reply<DescribeQuorumResponse> {
        guard let quorum = controller.quorum as? RaftMetadataQuorum else { return .now(describeLocalQuorum()) }
        return .later(quorum.describe().map { HandlerOutput(response: $0) })
    }

    /// A quorum of one: this node leads, and its log end is the high watermark.
    private func describeLocalQuorum() -> DescribeQuorumResponse {
        let end = controller.currentImage.appliedOffset + 1
        var voter = DescribeQuorumResponse.ReplicaState()
        voter.replicaId = nodeId
        voter.logEndOffset = end
        voter.lastFetchTimestamp = Clock.nowMs()
        voter.lastCaughtUpTimestamp = voter.lastFetchTimestamp
        var partition = DescribeQuorumResponse.PartitionData()
        partition.leaderId = nodeId
        partition.leaderEpoch = controller.quorum.epoch
        partition.highWatermark = end
        partition.errorMessage = nil
        partition.currentVoters = [voter]
        var topic = DescribeQuorumResponse.TopicData()
        topic.topicName = "__cluster_metadata"
        topic.partitions = [partition]
        var response = DescribeQuorumResponse()
        response.errorMessage = nil
        response.topics = [topic]
        return response
    }
}
