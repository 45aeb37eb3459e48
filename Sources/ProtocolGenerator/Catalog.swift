/// What gets generated. The one place that lists the APIs this project implements.
enum Catalog {
    /// Api keys whose request and response schemas are generated.
    static let apiKeys: [Int] = [
        0,  // Produce
        1,  // Fetch
        2,  // ListOffsets
        3,  // Metadata
        8,  // OffsetCommit
        9,  // OffsetFetch
        10, // FindCoordinator
        11, // JoinGroup
        12, // Heartbeat
        13, // LeaveGroup
        14, // SyncGroup
        15, // DescribeGroups
        16, // ListGroups
        17, // SaslHandshake
        18, // ApiVersions
        19, // CreateTopics
        20, // DeleteTopics
        21, // DeleteRecords
        22, // InitProducerId
        23, // OffsetForLeaderEpoch
        24, // AddPartitionsToTxn
        25, // AddOffsetsToTxn
        26, // EndTxn
        27, // WriteTxnMarkers
        28, // TxnOffsetCommit
        29, // DescribeAcls
        30, // CreateAcls
        31, // DeleteAcls
        32, // DescribeConfigs
        33, // AlterConfigs
        35, // DescribeLogDirs
        36, // SaslAuthenticate
        37, // CreatePartitions
        42, // DeleteGroups
        43, // ElectLeaders
        44, // IncrementalAlterConfigs
        45, // AlterPartitionReassignments
        46, // ListPartitionReassignments
        47, // OffsetDelete
        50, // DescribeUserScramCredentials
        51, // AlterUserScramCredentials
        52, // Vote
        53, // BeginQuorumEpoch
        54, // EndQuorumEpoch
        55, // DescribeQuorum
        56, // AlterPartition
        59, // FetchSnapshot
        60, // DescribeCluster
        61, // DescribeProducers
        62, // BrokerRegistration
        63, // BrokerHeartbeat
        65, // DescribeTransactions
        66, // ListTransactions
    ]

    /// Header and embedded data schemas generated alongside the APIs.
    static let extraMessages: Set<String> = [
        "RequestHeader", "ResponseHeader", "ConsumerProtocolSubscription", "ConsumerProtocolAssignment",
    ]

    static func includes(_ schema: MessageSchema) -> Bool {
        if let key = schema.apiKey, schema.type == "request" || schema.type == "response" {
            return apiKeys.contains(key)
        }
        return extraMessages.contains(schema.name)
    }
}
