import CrucibleProtocol
import NIOCore

/// The "consumer" protocol type's member metadata and assignments (Kafka's ConsumerProtocolSubscription and
/// ConsumerProtocolAssignment). The broker only reads them, to know which topics a group consumes; our own
/// group consumer writes them.
public enum ConsumerProtocol {
    public struct TopicPartitions: Equatable, Sendable {
        public var topic: String
        public var partitions: [Int32]

        public init(topic: String, partitions: [Int32]) {
            self.topic = topic
            self.partitions = partitions
        }
    }

    public struct Subscription: Equatable, Sendable {
        public var topics: [String]
        public var userData: [UInt8]?
        /// v1+: what the member owns (cooperative rebalancing).
        public var ownedPartitions: [TopicPartitions] = []
        /// v2+ (read, never written): the generation the owned partitions are from.
        public var generationId: Int32 = -1
        /// v3+ (read, never written): the member's `client.rack`.
        public var rackId: String?

        public init(topics: [String], userData: [UInt8]? = nil, ownedPartitions: [TopicPartitions] = []) {
            self.topics = topics
            self.userData = userData
            self.ownedPartitions = ownedPartitions
        }

        /// Versions 0-3 are not flexible; later fields are skipped.
        public static func decode(_ bytes: [UInt8]) throws -> Subscription {
            var buffer = ByteBuffer(bytes: bytes)
            let version = try buffer.readKafkaInt16()
            let topics = try buffer.readKafkaArray(compact: false) { try $0.readKafkaString(compact: false) }
            let userData = try buffer.readKafkaNullableBytes(compact: false).map { Array($0.readableBytesView) }
            var owned: [TopicPartitions] = []
            if version >= 1, buffer.readableBytes > 0 { owned = try readTopicPartitions(&buffer) }
            var subscription = Subscription(topics: topics, userData: userData, ownedPartitions: owned)
            if version >= 2, buffer.readableBytes > 0 { subscription.generationId = try buffer.readKafkaInt32() }
            if version >= 3, buffer.readableBytes > 0 { subscription.rackId = try buffer.readKafkaNullableString(compact: false) }
            return subscription
        }

        public func encode() -> [UInt8] {
            var buffer = ByteBuffer()
            buffer.writeKafkaInt16(1)
            buffer.writeKafkaInt32(Int32(topics.count))
            for topic in topics { buffer.writeKafkaString(topic, compact: false) }
            buffer.writeKafkaNullableBytes(userData.map { ByteBuffer(bytes: $0) }, compact: false)
            writeTopicPartitions(ownedPartitions, &buffer)
            return Array(buffer.readableBytesView)
        }
    }

    public struct Assignment: Equatable, Sendable {
        public var partitions: [TopicPartitions]
        public var userData: [UInt8]?

        public init(partitions: [TopicPartitions], userData: [UInt8]? = nil) {
            self.partitions = partitions
            self.userData = userData
        }

        /// An empty byte string is an empty assignment (what a coordinator gives a member the leader left out).
        public static func decode(_ bytes: [UInt8]) throws -> Assignment {
            guard !bytes.isEmpty else { return Assignment(partitions: []) }
            var buffer = ByteBuffer(bytes: bytes)
            _ = try buffer.readKafkaInt16()
            let partitions = try readTopicPartitions(&buffer)
            let userData = buffer.readableBytes > 0
                ? try buffer.readKafkaNullableBytes(compact: false).map { Array($0.readableBytesView) } : nil
            return Assignment(partitions: partitions, userData: userData)
        }

        public func encode() -> [UInt8] {
            var buffer = ByteBuffer()
            buffer.writeKafkaInt16(0)
            writeTopicPartitions(partitions, &buffer)
            buffer.writeKafkaNullableBytes(userData.map { ByteBuffer(bytes: $0) }, compact: false)
            return Array(buffer.readableBytesView)
        }
    }

    private static func readTopicPartitions(_ buffer: inout ByteBuffer) throws -> [TopicPartitions] {
        try buffer.readKafkaArray(compact: false) { buffer in
            TopicPartitions(topic: try buffer.readKafkaString(compact: false),
                            partitions: try buffer.readKafkaArray(compact: false) { try $0.readKafkaInt32() })
        }
    }

    private static func writeTopicPartitions(_ list: [TopicPartitions], _ buffer: inout ByteBuffer) {
        buffer.writeKafkaInt32(Int32(list.count))
        for entry in list {
            buffer.writeKafkaString(entry.topic, compact: false)
            buffer.writeKafkaInt32(Int32(entry.partitions.count))
            for partition in entry.partitions { buffer.writeKafkaInt32(partition) }
        }
    }

    /// Kafka's RangeAssignor: per topic, the sorted partitions split into contiguous ranges over the sorted
    /// members subscribed to it, the first `count % members` members taking one more.
    public static func rangeAssign(subscriptions: [String: Subscription],
                                   partitionCounts: [String: Int32]) -> [String: Assignment] {
        var result: [String: [String: [Int32]]] = [:]
        let allTopics = Set(subscriptions.values.flatMap(\.topics)).sorted()
        for topic in allTopics {
            guard let count = partitionCounts[topic], count > 0 else { continue }
            let members = subscriptions.filter { $0.value.topics.contains(topic) }.keys.sorted()
            let per = Int(count) / members.count, extra = Int(count) % members.count
            var next: Int32 = 0
            for (index, member) in members.enumerated() {
                let take = per + (index < extra ? 1 : 0)
                if take > 0 { result[member, default: [:]][topic] = Array(next..<next + Int32(take)) }
                next += Int32(take)
            }
        }
        return Dictionary(uniqueKeysWithValues: subscriptions.keys.map { member in
            let topics = result[member] ?? [:]
            return (member, Assignment(partitions: topics.keys.sorted().map {
                TopicPartitions(topic: $0, partitions: topics[$0]!)
            }))
        })
    }
}
