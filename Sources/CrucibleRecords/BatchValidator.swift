import NIOCore

/// Validates what a producer sends before any of it reaches a log, as Kafka's LogValidator does for magic 2:
/// framing, CRC, codec, and that the records parse and number exactly `recordCount` with offset deltas
/// 0, 1, 2, ... . Compressed batches are decompressed to check them and stored as they came.
public struct BatchValidator: Sendable {
    public var maxBatchBytes: Int
    public var maxDecompressedBytes: Int

    public init(maxBatchBytes: Int, maxDecompressedBytes: Int = 256 << 20) {
        self.maxBatchBytes = maxBatchBytes
        self.maxDecompressedBytes = maxDecompressedBytes
    }

    public struct Summary: Sendable {
        public var spans: [BatchSpan]
        public var recordCount: Int
        public var maxTimestamp: Int64
        public var bytes: Int
    }

    /// `requireKeys`: a compacted topic refuses records without a key (Kafka's LogValidator), since the cleaner
    /// could never tell which of them is the newest.
    public func validate(_ buffer: ByteBuffer, requireKeys: Bool = false) throws -> Summary {
        let spans = try RecordBatch.spans(in: buffer, allowPartialTail: false)
        guard !spans.isEmpty else { throw BatchError.corrupt("no record batch in the request") }
        var count = 0
        var maxTimestamp = Int64.min
        for span in spans {
            try validate(span, in: buffer, requireKeys: requireKeys)
            count += Int(span.header.recordCount)
            maxTimestamp = max(maxTimestamp, span.header.maxTimestamp)
        }
        return Summary(spans: spans, recordCount: count, maxTimestamp: maxTimestamp,
                       bytes: buffer.readableBytes)
    }

    func validate(_ span: BatchSpan, in buffer: ByteBuffer, requireKeys: Bool = false) throws {
        let header = span.header
        guard header.magic == 2 else { throw BatchError.unsupportedMagic(header.magic) }
        guard span.size <= maxBatchBytes else { throw BatchError.tooLarge(span.size) }
        guard RecordBatch.crcMatches(span, in: buffer) else { throw BatchError.corrupt("CRC-32C mismatch") }
        guard !header.isControl else { throw BatchError.invalidRecord("producers may not send control batches") }
        guard header.recordCount > 0 else { throw BatchError.invalidRecord("batch has no records") }
        guard header.lastOffsetDelta == header.recordCount - 1 else {
            throw BatchError.invalidRecord("lastOffsetDelta \(header.lastOffsetDelta) for \(header.recordCount) records")
        }
        try RecordBatch.withRecordBytes(span, in: buffer, maxDecompressedBytes: maxDecompressedBytes) { bytes in
            var walker = RecordWalker(bytes, baseOffset: 0, baseTimestamp: header.baseTimestamp)
            var expectedDelta: Int32 = 0
            while !walker.isAtEnd {
                guard let shape = walker.next(collectHeaders: false) else {
                    throw BatchError.corrupt("record \(expectedDelta) does not parse")
                }
                guard shape.offsetDelta == expectedDelta else {
                    throw BatchError.invalidRecord("offset delta \(shape.offsetDelta) where \(expectedDelta) was due")
                }
                if requireKeys && shape.key == nil {
                    throw BatchError.invalidRecord("compacted topic cannot accept a record without a key (record \(expectedDelta))")
                }
                expectedDelta += 1
            }
            guard expectedDelta == header.recordCount else {
                throw BatchError.corrupt("batch says \(header.recordCount) records but holds \(expectedDelta)")
            }
        }
    }
}
