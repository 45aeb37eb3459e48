import NIOCore

/// A generated message body (request, response, header, data struct or metadata record).
public protocol KafkaMessage: Sendable {
    static var validVersions: ClosedRange<Int16> { get }
    /// The first version using compact encodings and tagged fields, or nil if none does.
    static var firstFlexibleVersion: Int16? { get }
    /// A value with Kafka's defaults.
    init()
    init(from buffer: inout ByteBuffer, version: Int16) throws
    func encode(to encoder: inout KafkaEncoder, version: Int16)
}

public protocol KafkaRequest: KafkaMessage {
    associatedtype Response: KafkaResponse
    static var apiKey: ApiKey { get }
}

public protocol KafkaResponse: KafkaMessage {
    static var apiKey: ApiKey { get }
}

/// A KRaft metadata log record (`metadata/*.json`); its record type is the schema's api key.
public protocol KafkaMetadataRecord: KafkaMessage {
    static var recordType: MetadataRecordType { get }
}

extension KafkaMessage {
    public static func isFlexible(_ version: Int16) -> Bool {
        guard let first = firstFlexibleVersion else { return false }
        return version >= first
    }

    /// Decodes a body from exactly the readable bytes of `buffer`.
    public init(decoding buffer: ByteBuffer, version: Int16) throws {
        var buffer = buffer
        try self.init(from: &buffer, version: version)
    }

    /// Encodes this body alone into one buffer (no records from files).
    public func encoded(version: Int16, allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
        var encoder = KafkaEncoder(allocator: allocator)
        encode(to: &encoder, version: version)
        return encoder.finishContiguous()
    }
}
