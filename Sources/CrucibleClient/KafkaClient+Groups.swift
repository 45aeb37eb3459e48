import CrucibleProtocol
import Foundation
import NIOCore

/// A group as ListGroups names it.
public struct GroupListing: Sendable, Equatable {
    public var groupId: String
    /// "consumer" for consumer groups, "" for groups that only commit offsets.
    public var protocolType: String
    /// Empty when the broker is too old to say (ListGroups v0-3).
    public var state: String
}

public struct GroupMemberDescription: Sendable {
    public var memberId: String
    public var groupInstanceId: String?
    public var clientId: String
    public var clientHost: String
    public var metadata: [UInt8]
    public var assignment: [UInt8]
}

/// A group as DescribeGroups describes it; an unknown group is "Dead" with no members, as Kafka answers.
public struct GroupDescription: Sendable {
    public var groupId: String
    public var state: String
    public var protocolType: String
    /// The assignor the group agreed on ("range", ...).
    public var protocolName: String
    public var members: [GroupMemberDescription]
    public var coordinator: BrokerAddress
}

extension ErrorCode {
    /// Errors after which the group's coordinator must be found again (or waited for) and the call repeated.
    public var isCoordinatorError: Bool {
        [.coordinatorNotAvailable, .coordinatorLoadInProgress, .notCoordinator].contains(self)
    }
}

/// The group calls of Kafka's admin client (kafka-consumer-groups.sh) and what a group member needs to find its
/// coordinator. Every call goes to the group's coordinator, found again after NOT_COORDINATOR and waited for
/// while it is unavailable or loading, up to `coordinatorWait`.
extension KafkaClient {
    /// How long group calls wait for a coordinator to become available before giving up.
    static let coordinatorWait: Duration = .seconds(30)

    /// The broker coordinating `group` (FindCoordinator key type 0), waiting while it is not yet available.
    public func findCoordinator(group: String) throws -> BrokerAddress {
        try retryingCoordinatorErrors { try findCoordinatorOnce(group: group) }
    }

    /// The node coordinating a group (key type 0) or a transactional id (1), as the cluster says now.
    public func coordinatorNode(of key: String, keyType: Int8) throws -> Int32 {
        try findCoordinatorOnce(group: key, keyType: keyType).nodeId
    }

    /// The coordinator of `group` (key type 0) or of a transactional id (key type 1).
    func findCoordinatorOnce(group: String, keyType: Int8 = 0) throws -> BrokerAddress {
        var request = FindCoordinatorRequest()
        request.key = group  // v0-3
        request.keyType = keyType
        request.coordinatorKeys = [group]  // v4+
        let (response, version) = try call(request, on: try anyConnection())
        if version >= 4 {
            guard let answer = response.coordinators.first(where: { $0.key == group }) else {
                throw KafkaClientError.malformedResponse("FindCoordinator answer does not name \(group)")
            }
            try ErrorCode(rawValue: answer.errorCode).check(answer.errorMessage)
            return BrokerAddress(nodeId: answer.nodeId, host: answer.host, port: Int(answer.port))
        }
        try ErrorCode(rawValue: response.errorCode).check(response.errorMessage)
        return BrokerAddress(nodeId: response.nodeId, host: response.host, port: Int(response.port))
    }

    /// Runs `body` until it succeeds or fails with something other than a coordinator error, backing off from
    /// 100 ms to 1 s, for at most `coordinatorWait`.
    func retryingCoordinatorErrors<T>(_ body: () throws -> T) throws -> T {
        let deadline = ContinuousClock.now + Self.coordinatorWait
        var backoffMs = 100
        while true {
            do {
                return try body()
            } catch let error as KafkaClientError where error.errorCode?.isCoordinatorError == true
                        && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: Double(backoffMs) / 1000)
                backoffMs = min(backoffMs * 2, 1000)
            }
        }
    }

    /// Runs `body` on the connection to `group`'s coordinator, finding it again after a coordinator error.
    func onCoordinator<T>(of group: String, _ body: (BrokerConnection, BrokerAddress) throws -> T) throws -> T {
        try retryingCoordinatorErrors {
            let coordinator = try findCoordinatorOnce(group: group)
            return try body(try connection(to: coordinator.nodeId), coordinator)
        }
    }

    /// Consumer groups (protocol type "consumer" or none) on every broker, each broker knowing the groups it
    /// coordinates. `states` filters by state name as ListGroups v4+ does (client-side for older brokers).
    public func listGroups(states: [String] = []) throws -> [GroupListing] {
        let brokers = try refreshMetadata(topics: []).brokers.keys.sorted()
        var listings: [String: GroupListing] = [:]
        for broker in brokers {
            let groups = try retryingCoordinatorErrors { () -> [ListGroupsResponse.ListedGroup] in
                var request = ListGroupsRequest()
                request.statesFilter = states
                let (response, _) = try call(request, on: try connection(to: broker))
                try ErrorCode(rawValue: response.errorCode).check("ListGroups")
                return response.groups
            }
            for group in groups where group.protocolType == "consumer" || group.protocolType.isEmpty {
                let wanted = states.isEmpty || group.groupState.isEmpty
                    || states.contains { $0.caseInsensitiveCompare(group.groupState) == .orderedSame }
                if wanted {
                    listings[group.groupId] = GroupListing(groupId: group.groupId, protocolType: group.protocolType,
                                                           state: group.groupState)
                }
            }
        }
        return listings.values.sorted { $0.groupId < $1.groupId }
    }

    public func describeGroup(_ group: String) throws -> GroupDescription {
        try onCoordinator(of: group) { connection, coordinator in
            var request = DescribeGroupsRequest()
            request.groups = [group]
            let (response, _) = try call(request, on: connection)
            guard let described = response.groups.first(where: { $0.groupId == group }) else {
                throw KafkaClientError.malformedResponse("DescribeGroups answer does not name \(group)")
            }
            let code = ErrorCode(rawValue: described.errorCode)
            // Newer coordinators answer GROUP_ID_NOT_FOUND where older ones describe a Dead group.
            if code == .groupIdNotFound {
                return GroupDescription(groupId: group, state: "Dead", protocolType: "", protocolName: "", members: [],
                                        coordinator: coordinator)
            }
            try code.check("describing group \(group)")
            return GroupDescription(
                groupId: group, state: described.groupState, protocolType: described.protocolType,
                protocolName: described.protocolData,
                members: described.members.map {
                    GroupMemberDescription(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId,
                                           clientId: $0.clientId, clientHost: $0.clientHost,
                                           metadata: Array($0.memberMetadata.readableBytesView),
                                           assignment: Array($0.memberAssignment.readableBytesView))
                },
                coordinator: coordinator)
        }
    }

    /// Deletes each group (at its own coordinator); returns each group's error (NONE when deleted).
    public func deleteGroups(_ groups: [String]) throws -> [String: ErrorCode] {
        var results: [String: ErrorCode] = [:]
        for group in groups {
            results[group] = try onCoordinator(of: group) { connection, _ in
                var request = DeleteGroupsRequest()
                request.groupsNames = [group]
                let (response, _) = try call(request, on: connection)
                guard let result = response.results.first(where: { $0.groupId == group }) else {
                    throw KafkaClientError.malformedResponse("DeleteGroups answer does not name \(group)")
                }
                let code = ErrorCode(rawValue: result.errorCode)
                if code.isCoordinatorError { throw KafkaClientError.kafka(code, message: "deleting group \(group)") }
                return code
            }
        }
        return results
    }
}
