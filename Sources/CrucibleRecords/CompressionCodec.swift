/// The codec named by bits 0-2 of a record batch's attributes.
public enum CompressionCodec: Int16, CaseIterable, Sendable {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4

    /// Kafka's `compression.type` spelling.
    public var name: String {
        switch self {
        case .none: return "none"
        case .gzip: return "gzip"
        case .snappy: return "snappy"
        case .lz4: return "lz4"
        case .zstd: return "zstd"
        }
    }

    public init?(name: String) {
        guard let codec = Self.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = codec
    }
}

public struct CodecError: Error, CustomStringConvertible {
    public let codec: CompressionCodec
    public let reason: String
    public var description: String { "\(codec.name): \(reason)" }
}

/// Compresses and decompresses the records section of a batch. Decompression is bounded by
/// `maxOutputBytes` so that a small hostile batch cannot make the broker allocate without limit.
public enum Codecs {
    public static func decompress(_ codec: CompressionCodec, _ input: UnsafeRawBufferPointer,
                                  maxOutputBytes: Int) throws -> [UInt8] {
        switch codec {
        case .none: return Array(input)
        case .gzip: return try Gzip.decompress(input, maxOutputBytes: maxOutputBytes)
        case .snappy: return try Snappy.decompress(input, maxOutputBytes: maxOutputBytes)
        case .lz4: return try LZ4Frame.decompress(input, maxOutputBytes: maxOutputBytes)
        case .zstd: return try Zstd.decompress(input, maxOutputBytes: maxOutputBytes)
        }
    }

    public static func compress(_ codec: CompressionCodec, _ input: UnsafeRawBufferPointer) throws -> [UInt8] {
        switch codec {
        case .none: return Array(input)
        case .gzip: return try Gzip.compress(input)
        case .snappy: return try Snappy.compressRaw(input)
        case .lz4: return try LZ4Frame.compress(input)
        case .zstd: return try Zstd.compress(input)
        }
    }
}
