import CrucibleProtocol
import NIOCore

/// The records of `__consumer_offsets` in Kafka's own formats, so tools that read the topic directly (Kafka's
/// `--offsets-decoder`, Burrow) understand ours. The key starts with an i16 version: 0 or 1 is an offset
/// commit, 2 is a group's metadata. A null value is a tombstone.
public enum OffsetsTopicRecord: Equatable, Sendable {
    case offsetCommit(OffsetCommitKey, OffsetCommitValue?)
    case groupMetadata(group: String, GroupMetadataValue?)

    /// The versions written: Kafka 3.x writes OffsetCommitValue v3 (v1 only with an explicit expiry) and
    /// GroupMetadataValue v3.
    public static let offsetCommitValueVersion: Int16 = 3
    public static let groupMetadataValueVersion: Int16 = 3

    public var group: String {
        switch self {
        case .offsetCommit(let key, _): return key.group
        case .groupMetadata(let group, _): return group
        }
    }

    public func encodeKey() -> ByteBuffer {
        var buffer = ByteBuffer()
        switch self {
        case .offsetCommit(let key, _):
            buffer.writeKafkaInt16(1)
            buffer.writeKafkaString(key.group, compact: false)
            buffer.writeKafkaString(key.topic, compact: false)
            buffer.writeKafkaInt32(key.partition)
        case .groupMetadata(let group, _):
            buffer.writeKafkaInt16(2)
            buffer.writeKafkaString(group, compact: false)
        }
        return buffer
    }

    public func encodeValue() -> ByteBuffer? {
        switch self {
        case .offsetCommit(_, let value): return value?.encode(version: Self.offsetCommitValueVersion)
        case .groupMetadata(_, let value): return value?.encode(version: Self.groupMetadataValueVersion)
        }
    }

    /// Decodes one record; `nil` for a key version this topic does not hold (Kafka 4's consumer-protocol
    /// records, which this broker never writes).
    public static func decode(key: ByteBuffer, value: ByteBuffer?) throws -> OffsetsTopicRecord? {
        var key = key
        switch try key.readKafkaInt16() {
        case 0, 1:
            let commitKey = OffsetCommitKey(group: try key.readKafkaString(compact: false),
                                            topic: try key.readKafkaString(compact: false),
                                            partition: try key.readKafkaInt32())
            return .offsetCommit(commitKey, try value.map(OffsetCommitValue.decode))
        case 2:
            return .groupMetadata(group: try key.readKafkaString(compact: false),
                                  try value.map(GroupMetadataValue.decode))
        default:
            return nil
        }
    }
}

public struct OffsetCommitKey: Hashable, Sendable {
    public var group: String
    public var topic: String
    public var partition: Int32

    public init(group: String, topic: String, partition: Int32) {
        self.group = group
        self.topic = topic
        self.partition = partition
    }
}

public struct OffsetCommitValue: Equatable, Sendable {
    public var offset: Int64
    public var leaderEpoch: Int32 = -1
    public var metadata: String = ""
    public var commitTimestamp: Int64
    /// Only in version 1 (a retention time given by an OffsetCommit v2-v4).
    public var expireTimestamp: Int64 = -1

    public init(offset: Int64, leaderEpoch: Int32 = -1, metadata: String = "", commitTimestamp: Int64,
                expireTimestamp: Int64 = -1) {
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.metadata = metadata
        self.commitTimestamp = commitTimestamp
        self.expireTimestamp = expireTimestamp
    }

    func encode(version: Int16) -> ByteBuffer {
        let version = expireTimestamp >= 0 ? 1 : version
        let flexible = version >= 4
        var buffer = ByteBuffer()
        buffer.writeKafkaInt16(version)
        buffer.writeKafkaInt64(offset)
        if version >= 3 { buffer.writeKafkaInt32(leaderEpoch) }
        buffer.writeKafkaString(metadata, compact: flexible)
        buffer.writeKafkaInt64(commitTimestamp)
        if version == 1 { buffer.writeKafkaInt64(expireTimestamp) }
        if flexible { buffer.writeUnsignedVarint(0) }
        return buffer
    }

    static func decode(_ buffer: ByteBuffer) throws -> OffsetCommitValue {
        var buffer = buffer
        let version = try buffer.readKafkaInt16()
        guard (0...4).contains(version) else { throw KafkaProtocolError("OffsetCommitValue version \(version)") }
        let flexible = version >= 4
        let offset = try buffer.readKafkaInt64()
        let leaderEpoch = version >= 3 ? try buffer.readKafkaInt32() : -1
        let metadata = try buffer.readKafkaString(compact: flexible)
        let commitTimestamp = try buffer.readKafkaInt64()
        let expireTimestamp = version == 1 ? try buffer.readKafkaInt64() : -1
        if flexible { try buffer.skipKafkaTaggedFields() }
        return OffsetCommitValue(offset: offset, leaderEpoch: leaderEpoch, metadata: metadata,
                                 commitTimestamp: commitTimestamp, expireTimestamp: expireTimestamp)
    }
}

public struct GroupMetadataValue: Equatable, Sendable {
    public struct Member: Equatable, Sendable {
        public var memberId: String
        public var groupInstanceId: String?
        public var clientId: String
        public var clientHost: String
        public var rebalanceTimeoutMs: Int32
        public var sessionTimeoutMs: Int32
        public var subscription: [UInt8]
        public var assignment: [UInt8]

        public init(memberId: String, groupInstanceId: String?, clientId: String, clientHost: String,
                    rebalanceTimeoutMs: Int32, sessionTimeoutMs: Int32, subscription: [UInt8], assignment: [UInt8]) {
            self.memberId = memberId
            self.groupInstanceId = groupInstanceId
            self.clientId = clientId
            self.clientHost = clientHost
            self.rebalanceTimeoutMs = rebalanceTimeoutMs
            self.sessionTimeoutMs = sessionTimeoutMs
            self.subscription = subscription
            self.assignment = assignment
        }
    }

    public var protocolType: String
    public var generation: Int32
    public var protocolName: String?
    public var leader: String?
    public var currentStateTimestamp: Int64
    public var members: [Member]

    public init(protocolType: String, generation: Int32, protocolName: String?, leader: String?,
                currentStateTimestamp: Int64, members: [Member]) {
        self.protocolType = protocolType
        self.generation = generation
        self.protocolName = protocolName
        self.leader = leader
        self.currentStateTimestamp = currentStateTimestamp
        self.members = members
    }

    func encode(version: Int16) -> ByteBuffer {
        let flexible = version >= 4
        var buffer = ByteBuffer()
        buffer.writeKafkaInt16(version)
        buffer.writeKafkaString(protocolType, compact: flexible)
        buffer.writeKafkaInt32(generation)
        buffer.writeKafkaNullableString(protocolName, compact: flexible)
        buffer.writeKafkaNullableString(leader, compact: flexible)
        if version >= 2 { buffer.writeKafkaInt64(currentStateTimestamp) }
        writeLength(members.count, flexible, &buffer)
        for member in members {
            buffer.writeKafkaString(member.memberId, compact: flexible)
            if version >= 3 { buffer.writeKafkaNullableString(member.groupInstanceId, compact: flexible) }
            buffer.writeKafkaString(member.clientId, compact: flexible)
            buffer.writeKafkaString(member.clientHost, compact: flexible)
            if version >= 1 { buffer.writeKafkaInt32(member.rebalanceTimeoutMs) }
            buffer.writeKafkaInt32(member.sessionTimeoutMs)
            buffer.writeKafkaBytes(ByteBuffer(bytes: member.subscription), compact: flexible)
            buffer.writeKafkaBytes(ByteBuffer(bytes: member.assignment), compact: flexible)
            if flexible { buffer.writeUnsignedVarint(0) }
        }
        if flexible { buffer.writeUnsignedVarint(0) }
        return buffer
    }

    static func decode(_ buffer: ByteBuffer) throws -> GroupMetadataValue {
        var buffer = buffer
        let version = try buffer.readKafkaInt16()
        guard (0...4).contains(version) else { throw KafkaProtocolError("GroupMetadataValue version \(version)") }
        let flexible = version >= 4
        let protocolType = try buffer.readKafkaString(compact: flexible)
        let generation = try buffer.readKafkaInt32()
        let protocolName = try buffer.readKafkaNullableString(compact: flexible)
        let leader = try buffer.readKafkaNullableString(compact: flexible)
        let timestamp = version >= 2 ? try buffer.readKafkaInt64() : -1
        let members = try buffer.readKafkaArray(compact: flexible) { buffer -> Member in
            let memberId = try buffer.readKafkaString(compact: flexible)
            let instanceId = version >= 3 ? try buffer.readKafkaNullableString(compact: flexible) : nil
            let clientId = try buffer.readKafkaString(compact: flexible)
            let clientHost = try buffer.readKafkaString(compact: flexible)
            let rebalanceTimeout = version >= 1 ? try buffer.readKafkaInt32() : -1
            let sessionTimeout = try buffer.readKafkaInt32()
            let subscription = try buffer.readKafkaBytes(compact: flexible)
            let assignment = try buffer.readKafkaBytes(compact: flexible)
            if flexible { try buffer.skipKafkaTaggedFields() }
            return Member(memberId: memberId, groupInstanceId: instanceId, clientId: clientId, clientHost: clientHost,
                          rebalanceTimeoutMs: rebalanceTimeout, sessionTimeoutMs: sessionTimeout,
                          subscription: Array(subscription.readableBytesView),
                          assignment: Array(assignment.readableBytesView))
        }
        if flexible { try buffer.skipKafkaTaggedFields() }
        return GroupMetadataValue(protocolType: protocolType, generation: generation, protocolName: protocolName,
                                  leader: leader, currentStateTimestamp: timestamp, members: members)
    }
}

private func writeLength(_ count: Int, _ flexible: Bool, _ buffer: inout ByteBuffer) {
    if flexible { buffer.writeUnsignedVarint(UInt32(count + 1)) } else { buffer.writeKafkaInt32(Int32(count)) }
}
