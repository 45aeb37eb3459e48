/// One record decoded from a batch, with its key, value and headers copied out. Used by tools, clients and
/// timestamp lookups; the broker's produce path validates records without materialising them.
public struct Record: Equatable, Sendable {
    public var offset: Int64
    public var timestamp: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [RecordHeader]

    public init(offset: Int64 = 0, timestamp: Int64 = 0, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = []) {
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }
}

public struct RecordHeader: Equatable, Sendable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }
}

/// Walks the records section of a batch (already decompressed). Each step checks the declared record length
/// against what the fields consumed, so a batch whose records do not add up is rejected, not misread.
struct RecordWalker {
    private var reader: RawReader
    let baseOffset: Int64
    let baseTimestamp: Int64

    init(_ bytes: UnsafeRawBufferPointer, baseOffset: Int64, baseTimestamp: Int64) {
        reader = RawReader(bytes)
        self.baseOffset = baseOffset
        self.baseTimestamp = baseTimestamp
    }

    var isAtEnd: Bool { reader.remaining == 0 }

    struct Shape {
        var offsetDelta: Int32
        var timestampDelta: Int64
        var key: Range<Int>?
        var value: Range<Int>?
        var headers: [(key: Range<Int>, value: Range<Int>?)]
    }

    /// Reads the next record's layout, nil when malformed. `collectHeaders` false skips header ranges.
    mutating func next(collectHeaders: Bool) -> Shape? {
        guard let length = reader.readVarint(), length > 0, Int(length) <= reader.remaining else { return nil }
        let end = reader.position + Int(length)
        guard reader.readByte() != nil,
              let timestampDelta = reader.readVarlong(),
              let offsetDelta = reader.readVarint(),
              let key = reader.readLengthPrefixed(),
              let value = reader.readLengthPrefixed(),
              let headerCount = reader.readVarint(), headerCount >= 0, Int(headerCount) <= reader.remaining
        else { return nil }
        var headers: [(key: Range<Int>, value: Range<Int>?)] = []
        for _ in 0..<headerCount {
            guard let headerKey = reader.readLengthPrefixed(), let keyRange = headerKey,
                  let headerValue = reader.readLengthPrefixed() else { return nil }
            if collectHeaders { headers.append((keyRange, headerValue)) }
        }
        guard reader.position == end else { return nil }
        return Shape(offsetDelta: offsetDelta, timestampDelta: timestampDelta, key: key, value: value, headers: headers)
    }
}

extension Record {
    init(_ shape: RecordWalker.Shape, in bytes: UnsafeRawBufferPointer, baseOffset: Int64, baseTimestamp: Int64) {
        func copy(_ range: Range<Int>?) -> [UInt8]? { range.map { Array(bytes[$0]) } }
        self.init(offset: baseOffset + Int64(shape.offsetDelta),
                  timestamp: baseTimestamp + shape.timestampDelta,
                  key: copy(shape.key), value: copy(shape.value),
                  headers: shape.headers.map { RecordHeader(key: String(decoding: bytes[$0.key], as: UTF8.self),
                                                            value: copy($0.value)) })
    }
}
