import NIOCore

/// The framing of a KRaft metadata log record value:
/// `[uvarint frame version = 0][uvarint record type][uvarint record version][record body]`.
public struct MetadataRecordFrame: Sendable {
    public static let frameVersion: UInt32 = 0

    public var record: any KafkaMetadataRecord
    public var version: Int16

    public init(record: any KafkaMetadataRecord, version: Int16) {
        self.record = record
        self.version = version
    }

    public var recordType: MetadataRecordType { type(of: record).recordType }

    public func encode(to encoder: inout KafkaEncoder) {
        encoder.buffer.writeUnsignedVarint(Self.frameVersion)
        encoder.buffer.writeUnsignedVarint(UInt32(recordType.rawValue))
        encoder.buffer.writeUnsignedVarint(UInt32(version))
        record.encode(to: &encoder, version: version)
    }

    /// Decodes a frame of any record type this module knows; unknown types and versions throw.
    public static func decode(from buffer: inout ByteBuffer) throws -> MetadataRecordFrame {
        let frameVersion = try buffer.readUnsignedVarint()
        guard frameVersion == Self.frameVersion else {
            throw KafkaProtocolError("unsupported metadata record frame version \(frameVersion)")
        }
        let typeValue = try buffer.readUnsignedVarint()
        guard typeValue <= UInt32(Int16.max), let recordType = MetadataRecordType(rawValue: Int16(typeValue)) else {
            throw KafkaProtocolError("unknown metadata record type \(typeValue)")
        }
        let versionValue = try buffer.readUnsignedVarint()
        let messageType = recordType.messageType
        guard versionValue <= UInt32(Int16.max), messageType.validVersions.contains(Int16(versionValue)) else {
            throw KafkaProtocolError("unsupported version \(versionValue) of metadata record \(recordType)")
        }
        let record = try messageType.init(from: &buffer, version: Int16(versionValue))
        return MetadataRecordFrame(record: record, version: Int16(versionValue))
    }
}
