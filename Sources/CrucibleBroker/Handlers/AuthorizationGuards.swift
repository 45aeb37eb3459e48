import CrucibleProtocol
import CrucibleSecurity

/// Kafka's ACL checks on the client listener, in front of the handlers (and of forwarding to the controller, so
/// a forwarded request is checked against the client's principal, not the forwarding node's). As in Kafka, the
/// entries of a request its principal may not touch get the API's authorization error and the rest are served;
/// a request about one group or transactional id is refused whole. Produce, Fetch, Metadata and ListOffsets check
/// inside their handlers.
extension BrokerApis {
    func guardAuthorization(in table: inout ApiTable) {
        guard config.security.authorizerEnabled else { return }
        guardCoordinators(in: &table)
        guardGroups(in: &table)
        guardTransactions(in: &table)
        guardTopicAdmin(in: &table)
        guardClusterAdmin(in: &table)
    }

    /// The handler gets `request` with only the entries at `entries` that are `allowed`; the others are answered
    /// by `refuse` (a response to a request of only them), whose results at `results` join the handler's.
    func refusing<R: KafkaRequest, Entry, Result>(_ request: R, _ entries: WritableKeyPath<R, [Entry]>,
                                                 _ results: WritableKeyPath<R.Response, [Result]>,
                                                 allowed: (Entry) -> Bool,
                                                 refuse: (R) -> R.Response) -> EntryFilter<R>? {
        let all = request[keyPath: entries]
        let verdicts = all.map(allowed)
        guard verdicts.contains(false) else { return nil }
        var kept = request, refused = request
        kept[keyPath: entries] = zip(all, verdicts).filter(\.1).map(\.0)
        refused[keyPath: entries] = zip(all, verdicts).filter { !$0.1 }.map(\.0)
        let refusal = refuse(refused)
        return EntryFilter(served: verdicts.contains(true) ? kept : nil) { response in
            guard var response else { return refusal }
            response[keyPath: results] += refusal[keyPath: results]
            return response
        }
    }

    /// The whole request answered by `response`, the handler not called.
    func refusingAll<R: KafkaRequest>(_ response: R.Response) -> EntryFilter<R> {
        EntryFilter(served: nil) { _ in response }
    }

    /// The handler's answer with `change` made to it (results the principal may not see taken out).
    func redacting<R: KafkaRequest>(_ request: R, _ change: @escaping (inout R.Response) -> Void) -> EntryFilter<R> {
        EntryFilter(served: request) { response in
            var response = response ?? R.Response()
            change(&response)
            return response
        }
    }

    private func guardCoordinators(in table: inout ApiTable) {
        table.filtering(FindCoordinatorRequest.self) { [self] request, context in
            let type: AclResourceType = request.keyType == 1 ? .transactionalId : .group
            let code: ErrorCode = type == .group ? .groupAuthorizationFailed : .transactionalIdAuthorizationFailed
            if context.version < 4 {
                guard !allowed(context, .describe, type, request.key) else { return nil }
                var response = FindCoordinatorResponse()
                response.errorCode = code.rawValue
                response.errorMessage = nil
                response.nodeId = -1
                response.port = -1
                return refusingAll(response)
            }
            return refusing(request, \.coordinatorKeys, \.coordinators, allowed: { allowed(context, .describe, type, $0) }) { denied in
                var response = FindCoordinatorResponse()
                response.coordinators = denied.coordinatorKeys.map { key in
                    var entry = FindCoordinatorResponse.Coordinator()
                    entry.key = key
                    entry.nodeId = -1
                    entry.port = -1
                    entry.errorCode = code.rawValue
                    entry.errorMessage = nil
                    return entry
                }
                return response
            }
        }
    }
}

/// Offsets of partitions answered with one error: what the commit-like APIs refuse with.
enum PartitionRefusal {
    static func offsetCommit(_ request: OffsetCommitRequest, _ code: ErrorCode) -> OffsetCommitResponse {
        var response = OffsetCommitResponse()
        response.topics = request.topics.map { topic in
            var result = OffsetCommitResponse.OffsetCommitResponseTopic()
            result.name = topic.name
            result.partitions = topic.partitions.map { partition in
                var answer = OffsetCommitResponse.OffsetCommitResponsePartition()
                answer.partitionIndex = partition.partitionIndex
                answer.errorCode = code.rawValue
                return answer
            }
            return result
        }
        return response
    }

    static func txnOffsetCommit(_ request: TxnOffsetCommitRequest, _ code: ErrorCode) -> TxnOffsetCommitResponse {
        var response = TxnOffsetCommitResponse()
        response.topics = request.topics.map { topic in
            var result = TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic()
            result.name = topic.name
            result.partitions = topic.partitions.map { partition in
                var answer = TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition()
                answer.partitionIndex = partition.partitionIndex
                answer.errorCode = code.rawValue
                return answer
            }
            return result
        }
        return response
    }

    static func offsetDelete(_ request: OffsetDeleteRequest, _ code: ErrorCode) -> OffsetDeleteResponse {
        var response = OffsetDeleteResponse()
        response.topics = request.topics.map { topic in
            var result = OffsetDeleteResponse.OffsetDeleteResponseTopic()
            result.name = topic.name
            result.partitions = topic.partitions.map { partition in
                var answer = OffsetDeleteResponse.OffsetDeleteResponsePartition()
                answer.partitionIndex = partition.partitionIndex
                answer.errorCode = code.rawValue
                return answer
            }
            return result
        }
        return response
    }
}
