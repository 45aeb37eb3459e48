import CrucibleRecords
import Foundation
import NIOCore
import XCTest
@testable import CrucibleStorage

/// Shared by the cleaner tests: a compacted log in a temporary directory, keyed appends, and what a log holds.
class CleanerTestCase: XCTestCase {
    var root: String!
    var directory: String { root + "/t-0" }

    override func setUp() {
        root = NSTemporaryDirectory() + "crucible-cleaner-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
    }

    func compactConfig(segmentBytes: Int = 400) -> LogConfig {
        var config = LogConfig()
        config.cleanupPolicy = "compact"
        config.segmentBytes = segmentBytes
        config.indexIntervalBytes = 128
        config.minCleanableDirtyRatio = 0
        return config
    }

    func open(_ config: LogConfig, recoveryPoint: Int64? = nil) throws -> PartitionLog {
        try PartitionLog(directory: directory, topic: "t", partition: 0, config: config, recoveryPoint: recoveryPoint,
                         nowMs: 0)
    }

    /// One batch of (key, value) records; a nil value is a tombstone.
    @discardableResult
    func append(_ log: PartitionLog, _ pairs: [(String, String?)], timestamp: Int64 = 1000,
                codec: CompressionCodec = .none, producerId: Int64 = -1, sequence: Int32 = -1,
                transactional: Bool = false) throws -> AppendResult {
        var builder = RecordBatchBuilder(codec: codec)
        builder.producerId = producerId
        builder.producerEpoch = producerId >= 0 ? 0 : -1
        builder.baseSequence = sequence
        builder.isTransactional = transactional
        for (i, (key, value)) in pairs.enumerated() {
            builder.append(Record(timestamp: timestamp + Int64(i), key: Array(key.utf8), value: value.map { Array($0.utf8) },
                                  headers: [RecordHeader(key: "h", value: [UInt8(i & 0xff)])]))
        }
        var buffer = try builder.build()
        let span = BatchSpan(header: RecordBatchHeader(buffer, at: buffer.readerIndex)!, start: buffer.readerIndex)
        return try log.appendAsLeader(&buffer, span: span, leaderEpoch: 2, nowMs: timestamp)
    }

    struct Entry: Equatable, CustomStringConvertible {
        var offset: Int64
        var key: String
        var value: String?
        var description: String { "\(offset):\(key)=\(value ?? "null")" }
    }

    /// Every record in the log, through the same read path fetches use (data only with `dataOnly`).
    func entries(_ log: PartitionLog, dataOnly: Bool = false) throws -> [Entry] {
        let bytes = try log.readBytes(from: log.logStartOffset, maxBytes: 1 << 30, endOffset: log.logEndOffset)
        return try RecordBatch.spans(in: bytes, allowPartialTail: false).filter { !dataOnly || !$0.header.isControl }.flatMap { span in
            XCTAssertTrue(RecordBatch.crcMatches(span, in: bytes), "CRC of batch at \(span.header.baseOffset)")
            return try RecordBatch.records(span, in: bytes).map {
                Entry(offset: $0.offset, key: String(decoding: $0.key!, as: UTF8.self),
                      value: $0.value.map { String(decoding: $0, as: UTF8.self) })
            }
        }
    }

    /// Kafka's rule applied to `all` below `bound`: the newest record per key; at and after it, everything.
    func newestPerKey(_ all: [Entry], below bound: Int64) -> [Entry] {
        var newest: [String: Int64] = [:]
        for entry in all where entry.offset < bound { newest[entry.key] = entry.offset }
        return all.filter { $0.offset >= bound || newest[$0.key] == $0.offset }
    }

    func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".cleaned") || $0.hasSuffix(".swap") || $0.hasSuffix(".deleted") }
    }

    /// Many updates of `keys` keys, in batches of `perBatch`, rolling segments as they fill.
    func fill(_ log: PartitionLog, updates: Int, keys: Int, perBatch: Int = 3, codec: CompressionCodec = .none) throws {
        var pairs: [(String, String?)] = []
        for i in 0..<updates {
            pairs.append(("k\(i % keys)", "v\(i)"))
            if pairs.count == perBatch || i == updates - 1 {
                try append(log, pairs, timestamp: 1000 + Int64(i), codec: codec)
                pairs = []
            }
        }
    }
}
