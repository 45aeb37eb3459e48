import CrucibleGroups
import CrucibleRecords
import Foundation
import NIOCore

/// `kafka-dump-log --offsets-decoder`: a `__consumer_offsets` record's key and value as the JSON Kafka's
/// OffsetsMessageParser prints (`{"type":"1","data":{...}}` and `{"version":"3","data":{...}}`: fields of the
/// record's version in schema order, bytes in base64, and the consumer protocol's subscriptions and
/// assignments decoded), `<DELETE>` for a tombstone.
enum OffsetsDecoder {
    static func format(_ record: Record) -> (key: String, payload: String?) {
        guard let key = record.key else {
            return ("Error at offset \(record.offset), skipping. The record had a missing key", nil)
        }
        do {
            let value = record.value.map { ByteBuffer(bytes: $0) }
            guard let decoded = try OffsetsTopicRecord.decode(key: ByteBuffer(bytes: key), value: value) else {
                return ("Unknown record type \(version(key)) at offset \(record.offset), skipping.", nil)
            }
            let keyText = "{\"type\":\"\(version(key))\",\"data\":\(keyJSON(decoded))}"
            guard let valueBytes = record.value else { return (keyText, "<DELETE>") }
            return (keyText, "{\"version\":\"\(version(valueBytes))\",\"data\":\(valueJSON(decoded, version: version(valueBytes)))}")
        } catch {
            return ("Error at offset \(record.offset), skipping. \(error)", nil)
        }
    }

    /// The i16 version every key and value starts with.
    static func version(_ bytes: [UInt8]) -> Int16 {
        bytes.count < 2 ? -1 : Int16(bitPattern: UInt16(bytes[0]) << 8 | UInt16(bytes[1]))
    }

    private static func keyJSON(_ record: OffsetsTopicRecord) -> String {
        switch record {
        case .offsetCommit(let key, _):
            return object([("group", string(key.group)), ("topic", string(key.topic)), ("partition", "\(key.partition)")])
        case .groupMetadata(let group, _):
            return object([("group", string(group))])
        }
    }

    private static func valueJSON(_ record: OffsetsTopicRecord, version: Int16) -> String {
        switch record {
        case .offsetCommit(_, let value?):
            var fields = [("offset", "\(value.offset)")]
            if version >= 3 { fields.append(("leaderEpoch", "\(value.leaderEpoch)")) }
            fields += [("metadata", string(value.metadata)), ("commitTimestamp", "\(value.commitTimestamp)")]
            if version == 1 { fields.append(("expireTimestamp", "\(value.expireTimestamp)")) }
            return object(fields)
        case .groupMetadata(_, let value?):
            var fields = [("protocolType", string(value.protocolType)), ("generation", "\(value.generation)"),
                          ("protocol", value.protocolName.map(string) ?? "null"), ("leader", value.leader.map(string) ?? "null")]
            if version >= 2 { fields.append(("currentStateTimestamp", "\(value.currentStateTimestamp)")) }
            let consumer = value.protocolType == "consumer"
            fields.append(("members", "[" + value.members.map { member(
                $0, version: version, consumer: consumer) }.joined(separator: ",") + "]"))
            return object(fields)
        default:
            return "null"
        }
    }

    private static func member(_ member: GroupMetadataValue.Member, version: Int16, consumer: Bool) -> String {
        var fields = [("memberId", string(member.memberId))]
        if version >= 3 { fields.append(("groupInstanceId", member.groupInstanceId.map(string) ?? "null")) }
        fields += [("clientId", string(member.clientId)), ("clientHost", string(member.clientHost))]
        if version >= 1 { fields.append(("rebalanceTimeout", "\(member.rebalanceTimeoutMs)")) }
        fields.append(("sessionTimeout", "\(member.sessionTimeoutMs)"))
        // Kafka keeps the raw bytes when they are not the consumer protocol's or do not decode.
        let subscription = consumer ? (try? ConsumerProtocol.Subscription.decode(member.subscription)) : nil
        let assignment = consumer && !member.assignment.isEmpty
            ? (try? ConsumerProtocol.Assignment.decode(member.assignment)) : nil
        fields.append(("subscription", subscription.map { self.subscription($0, version: Self.version(member.subscription)) }
                       ?? base64(member.subscription)))
        fields.append(("assignment", assignment.map(self.assignment) ?? base64(member.assignment)))
        return object(fields)
    }

    private static func subscription(_ subscription: ConsumerProtocol.Subscription, version: Int16) -> String {
        var fields = [("topics", "[" + subscription.topics.map(string).joined(separator: ",") + "]"),
                      ("userData", subscription.userData.map(base64) ?? "null")]
        if version >= 1 { fields.append(("ownedPartitions", topicPartitions(subscription.ownedPartitions))) }
        if version >= 2 { fields.append(("generationId", "\(subscription.generationId)")) }
        if version >= 3 { fields.append(("rackId", subscription.rackId.map(string) ?? "null")) }
        return object(fields)
    }

    private static func assignment(_ assignment: ConsumerProtocol.Assignment) -> String {
        object([("assignedPartitions", topicPartitions(assignment.partitions)),
                ("userData", assignment.userData.map(base64) ?? "null")])
    }

    private static func topicPartitions(_ list: [ConsumerProtocol.TopicPartitions]) -> String {
        "[" + list.map {
            object([("topic", string($0.topic)), ("partitions", "[" + $0.partitions.map(String.init).joined(separator: ",") + "]")])
        }.joined(separator: ",") + "]"
    }

    static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    private static func string(_ text: String) -> String { AdminJSON.string(text) }

    private static func base64(_ bytes: [UInt8]) -> String { "\"" + Data(bytes).base64EncodedString() + "\"" }
}
