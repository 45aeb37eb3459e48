import Foundation

/// One API as Kafka's schemas define it.
struct KafkaApi {
    var key: Int16
    var name: String
    var versions: ClosedRange<Int16>
    /// Where Kafka serves it (KRaft: "broker", "controller"; "zkBroker" for the ZooKeeper era).
    var listeners: [String]
}

enum KafkaApiSchemas {
    /// Every request schema in `directory` (Kafka's JSON with `//` comments).
    static func read(from directory: String) throws -> [KafkaApi] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw UsageError("--schemas: cannot read \(directory)")
        }
        return try names.filter { $0.hasSuffix("Request.json") }.compactMap { name -> KafkaApi? in
            guard let text = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) else {
                throw UsageError("--schemas: cannot read \(directory)/\(name)")
            }
            let json = text.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("//") }.joined(separator: "\n")
            guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
                  let key = object["apiKey"] as? Int, let schemaName = object["name"] as? String,
                  let versions = object["validVersions"] as? String else {
                throw UsageError("--schemas: \(directory)/\(name) is not a request schema")
            }
            let bounds = versions.split(separator: "-").compactMap { Int16($0) }
            guard let low = bounds.first, let high = bounds.last else { return nil }
            return KafkaApi(key: Int16(key), name: String(schemaName.dropLast("Request".count)), versions: low...high,
                            listeners: object["listeners"] as? [String] ?? [])
        }.sorted { $0.key < $1.key }
    }
}

/// The conformance table: for each Kafka API, what Kafka's schemas define, what a Crucible node's client
/// listener advertises, and for anything not served there, why.
struct ApiConformanceTable {
    let kafka: [KafkaApi]
    let served: [Int16: ClosedRange<Int16>]

    /// Why an API is not on the client listener. Anything missing from here and from `served` is a gap the
    /// table shows as such.
    static let reasons: [String: String] = [
        "LeaderAndIsr": "ZooKeeper-era controller-to-broker RPC; KRaft brokers learn leadership from the metadata log",
        "StopReplica": "ZooKeeper-era controller-to-broker RPC; replaced by the metadata log",
        "UpdateMetadata": "ZooKeeper-era controller-to-broker RPC; replaced by the metadata log",
        "ControlledShutdown": "ZooKeeper-era; KRaft brokers ask through BrokerHeartbeat (want_shut_down)",
        "Vote": "Raft RPC, served on the controller listener",
        "BeginQuorumEpoch": "Raft RPC, served on the controller listener",
        "EndQuorumEpoch": "Raft RPC, served on the controller listener",
        "FetchSnapshot": "Raft RPC, served on the controller listener",
        "AlterPartition": "controller RPC, served on the controller listener",
        "BrokerRegistration": "controller RPC, served on the controller listener",
        "BrokerHeartbeat": "controller RPC, served on the controller listener",
        "Envelope": "ZooKeeper-era forwarding wrapper; Crucible forwards requests to the active controller unchanged",
        "AllocateProducerIds": "the active controller hands out producer id blocks in process or through forwarding",
        "ControllerRegistration": "dynamic controller registration (KIP-919) is not implemented: the voter set is static",
        "AssignReplicasToDirs": "JBOD (KIP-858): each node has one log directory",
        "AlterReplicaLogDirs": "JBOD (KIP-858): each node has one log directory",
        "UnregisterBroker": "not implemented yet: brokers stay registered (fenced) once gone",
        "AddRaftVoter": "dynamic quorums (KIP-853) are not implemented: the voter set is static",
        "RemoveRaftVoter": "dynamic quorums (KIP-853) are not implemented: the voter set is static",
        "UpdateRaftVoter": "dynamic quorums (KIP-853) are not implemented: the voter set is static",
        "UpdateFeatures": "feature levels are fixed; nothing negotiates them yet",
        "ConsumerGroupHeartbeat": "the new consumer group protocol (KIP-848) is not implemented; clients use the classic one",
        "ConsumerGroupDescribe": "the new consumer group protocol (KIP-848) is not implemented; clients use the classic one",
        "AddOffsetsToTxn": "v4+ (TRANSACTION_ABORTABLE, KIP-890) not served yet",
        "EndTxn": "v4+ (TRANSACTION_ABORTABLE and per-transaction epochs, KIP-890) not served yet",
        "TxnOffsetCommit": "v4 (TRANSACTION_ABORTABLE, KIP-890) not served yet",
        "CreateDelegationToken": "delegation tokens are not planned", "RenewDelegationToken": "delegation tokens are not planned",
        "ExpireDelegationToken": "delegation tokens are not planned", "DescribeDelegationToken": "delegation tokens are not planned",
        "DescribeClientQuotas": "client quotas are not implemented", "AlterClientQuotas": "client quotas are not implemented",
        "GetTelemetrySubscriptions": "client telemetry (KIP-714) is not implemented; clients treat its absence as off",
        "PushTelemetry": "client telemetry (KIP-714) is not implemented; clients treat its absence as off",
        "ListClientMetricsResources": "client telemetry (KIP-714) is not implemented",
        "DescribeTopicPartitions": "paginated topic description (KIP-966) is not implemented; Metadata answers the same",
        "ShareGroupHeartbeat": "share groups (KIP-932, early access in Kafka 4.0) are not implemented",
        "ShareGroupDescribe": "share groups (KIP-932) are not implemented", "ShareFetch": "share groups (KIP-932) are not implemented",
        "ShareAcknowledge": "share groups (KIP-932) are not implemented",
        "InitializeShareGroupState": "share groups (KIP-932) are not implemented",
        "ReadShareGroupState": "share groups (KIP-932) are not implemented",
        "WriteShareGroupState": "share groups (KIP-932) are not implemented",
        "DeleteShareGroupState": "share groups (KIP-932) are not implemented",
        "ReadShareGroupStateSummary": "share groups (KIP-932) are not implemented",
    ]

    static func text(_ range: ClosedRange<Int16>) -> String {
        range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound)–\(range.upperBound)"
    }

    func markdown() -> String {
        let servedCount = kafka.filter { served[$0.key] != nil }.count
        var lines = [
            "# API conformance",
            "",
            "Generated by `crucible api-conformance` (checked by the test suite with `--check`): every API in Kafka's",
            "protocol schemas (the 4.0 development line the project generates its protocol code from), the versions those",
            "schemas define, and the versions a Crucible node advertises on its client listener through ApiVersions.",
            "Kafka 4.0 itself no longer serves the pre-2.1 versions of some APIs (KIP-896); Crucible keeps the low",
            "versions clients still send (aiokafka, kafka-python).",
            "",
            "\(servedCount) of \(kafka.count) APIs are served on the client listener.",
            "",
            "| key | API | Kafka's versions | Kafka serves it on | Crucible serves | notes |",
            "|---:|---|---|---|---|---|",
        ]
        for api in kafka {
            let listeners = api.listeners.filter { $0 != "zkBroker" }
            let where_ = listeners.isEmpty ? "ZooKeeper brokers only" : listeners.joined(separator: ", ")
            let ours = served[api.key].map(Self.text) ?? "—"
            var note = ""
            if let range = served[api.key] {
                if range.upperBound < api.versions.upperBound { note = Self.reasons[api.name] ?? "newer versions not served yet" }
                if range.lowerBound > api.versions.lowerBound {
                    note = (note.isEmpty ? "" : note + "; ") + "versions below \(range.lowerBound) refused"
                }
                if api.name == "Produce" || api.name == "Fetch" {
                    note = (note.isEmpty ? "" : note + "; ") + "message sets (magic 0 and 1, below v"
                        + (api.name == "Produce" ? "3" : "4") + ") converted "
                        + (api.name == "Produce" ? "into" : "from") + " the magic-2 batches stored, as Kafka 3.x does"
                }
            } else {
                note = Self.reasons[api.name] ?? "not implemented"
            }
            lines.append("| \(api.key) | \(api.name) | \(Self.text(api.versions)) | \(where_) | \(ours) | \(note) |")
        }
        let unknown = served.keys.filter { key in !kafka.contains { $0.key == key } }.sorted()
        if !unknown.isEmpty { lines += ["", "Served but not in the schemas: \(unknown.map(String.init).joined(separator: ", "))."] }
        return lines.joined(separator: "\n") + "\n"
    }
}
