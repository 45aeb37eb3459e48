import CZlib
import NIOCore
import XCTest
@testable import CrucibleRecords

/// Magic-0/1 message sets converted up (Produce v2) and down (Fetch v2-v3), byte layouts checked by hand against
/// Kafka's message format: offset, size, CRC-32, magic, attributes, timestamp (magic 1), key, value.
final class LegacyMessageSetTests: XCTestCase {
    let records: [Record] = (0..<4).map { (i: Int) -> Record in
        let key: [UInt8]? = i == 0 ? nil : Array("k\(i)".utf8)
        let value: [UInt8]? = i == 1 ? nil : [UInt8](repeating: UInt8(65 + i), count: 50)
        let headers: [RecordHeader] = i == 2 ? [RecordHeader(key: "dropped", value: [1])] : []
        return Record(timestamp: 1_700_000_000_000 + Int64(i), key: key, value: value, headers: headers)
    }

    func batch(_ codec: CompressionCodec, baseOffset: Int64, control: Bool = false) throws -> ByteBuffer {
        var builder = RecordBatchBuilder(codec: codec)
        builder.isControl = control
        records.forEach { builder.append($0) }
        return try builder.build(baseOffset: baseOffset)
    }

    func messages(_ set: ByteBuffer) throws -> [(offset: Int64, message: LegacyMessageSet.Message)] {
        var reader = set, out: [(Int64, LegacyMessageSet.Message)] = []
        while reader.readableBytes > 0 {
            let offset = reader.getInteger(at: reader.readerIndex, as: Int64.self)!
            out.append((offset, try LegacyMessageSet.readMessage(&reader)))
        }
        return out
    }

    func testUncompressedBatchesBecomeOneMessageEachAtItsOffset() throws {
        var stored = try batch(.none, baseOffset: 100)
        var second = try batch(.none, baseOffset: 104)
        stored.writeBuffer(&second)
        let converted = try messages(try LegacyMessageSet.downConvert(stored))
        XCTAssertEqual(converted.map(\.offset), Array(100...107))
        for (i, (_, message)) in converted.enumerated() {
            let record = records[i % 4]
            XCTAssertEqual(message.magic, 1)
            XCTAssertEqual(message.codec, CompressionCodec.none)
            XCTAssertEqual(message.timestamp, record.timestamp)
            XCTAssertEqual(message.key, record.key)
            XCTAssertEqual(message.value, record.value)
        }
    }

    func testCompressedBatchesBecomeWrappersWithRelativeInnerOffsets() throws {
        for codec in [CompressionCodec.gzip, .snappy, .lz4] {
            let converted = try messages(try LegacyMessageSet.downConvert(try batch(codec, baseOffset: 10)))
            XCTAssertEqual(converted.count, 1, "\(codec)")
            let (offset, wrapper) = converted[0]
            XCTAssertEqual(offset, 13, "the wrapper carries the last inner message's absolute offset")
            XCTAssertEqual(wrapper.codec, codec)
            XCTAssertNil(wrapper.key)
            XCTAssertEqual(wrapper.timestamp, records.last!.timestamp)
            let plain = try wrapper.value!.withUnsafeBytes { try Codecs.decompress(codec, $0, maxOutputBytes: 1 << 20) }
            var buffer = ByteBuffer(bytes: plain)
            let inner = try messages(buffer.readSlice(length: buffer.readableBytes)!)
            XCTAssertEqual(inner.map(\.offset), [0, 1, 2, 3])
            XCTAssertEqual(inner.map(\.message.value), records.map { $0.value })
        }
    }

    func testMagicZeroSetsHaveAbsoluteInnerOffsetsNoTimestampsAndKafkasBrokenLz4Checksum() throws {
        let plainSet = try messages(try LegacyMessageSet.downConvert(try batch(.none, baseOffset: 20), magic: 0))
        XCTAssertEqual(plainSet.map(\.offset), [20, 21, 22, 23])
        XCTAssert(plainSet.allSatisfy { $0.message.magic == 0 && $0.message.timestamp == -1 })
        for codec in [CompressionCodec.gzip, .lz4] {
            let converted = try messages(try LegacyMessageSet.downConvert(try batch(codec, baseOffset: 20), magic: 0))
            XCTAssertEqual(converted.map(\.offset), [23])
            var frame = converted[0].message.value!
            if codec == .lz4 {
                // Written as magic-0 readers expect (KAFKA-3160): a standard decoder refuses the header checksum...
                XCTAssertThrowsError(try frame.withUnsafeBytes { try Codecs.decompress(.lz4, $0, maxOutputBytes: 1 << 20) })
                KafkaLZ4.setHeaderChecksum(&frame, broken: false)
            }
            let plain = try frame.withUnsafeBytes { try Codecs.decompress(codec, $0, maxOutputBytes: 1 << 20) }
            var buffer = ByteBuffer(bytes: plain)
            XCTAssertEqual(try messages(buffer.readSlice(length: buffer.readableBytes)!).map(\.offset), [20, 21, 22, 23])
            // ...and a magic-0 producer's frame, broken the same way, is repaired on the way in.
            var set = ByteBuffer()
            LegacyMessageSet.writeMessage(magic: 0, offset: 0, attributes: UInt8(codec.rawValue), timestamp: -1, key: nil,
                                          value: converted[0].message.value, into: &set)
            let up = try LegacyMessageSet.upConvert(set, maxDecompressedBytes: 1 << 20)
            let back = try RecordBatch.records(try RecordBatch.spans(in: up, allowPartialTail: false)[0], in: up)
            XCTAssertEqual(back.map { $0.value }, records.map { $0.value }, "\(codec)")
        }
    }

    func testXXH32KnownVectors() {
        XCTAssertEqual(KafkaLZ4.xxh32([]), 0x02CC_5D05)
        XCTAssertEqual(KafkaLZ4.xxh32(Array("a".utf8)), 0x550D_7456)
        XCTAssertEqual(KafkaLZ4.xxh32(Array("abc".utf8)), 0x32D1_53FF)
    }

    func testControlBatchesAreLeftOutAndZstdCannotBeExpressed() throws {
        XCTAssertEqual(try LegacyMessageSet.downConvert(try batch(.none, baseOffset: 0, control: true)).readableBytes, 0)
        XCTAssertThrowsError(try LegacyMessageSet.downConvert(try batch(.zstd, baseOffset: 0))) { error in
            XCTAssertEqual(error as? BatchError, .unsupportedCompression(CompressionCodec.zstd.rawValue))
        }
    }

    func testMessageSetsConvertUpIntoOneBatchWithTheProducersCodec() throws {
        for codec in [CompressionCodec.none, .gzip, .snappy, .lz4] {
            // What a magic-1 producer sends: the messages themselves, or one wrapper holding them compressed.
            var set = ByteBuffer()
            if codec == .none {
                for (i, r) in records.enumerated() {
                    LegacyMessageSet.writeMessage(offset: Int64(i), attributes: 0, timestamp: r.timestamp, key: r.key,
                                                  value: r.value, into: &set)
                }
            } else {
                var inner = ByteBuffer()
                for (i, r) in records.enumerated() {
                    LegacyMessageSet.writeMessage(offset: Int64(i), attributes: 0, timestamp: r.timestamp, key: r.key,
                                                  value: r.value, into: &inner)
                }
                let compressed = try inner.withUnsafeReadableBytes { try Codecs.compress(codec, $0) }
                LegacyMessageSet.writeMessage(offset: 3, attributes: UInt8(codec.rawValue), timestamp: records[3].timestamp,
                                              key: nil, value: compressed, into: &set)
            }
            let batch = try LegacyMessageSet.upConvert(set, maxDecompressedBytes: 1 << 20)
            let spans = try RecordBatch.spans(in: batch, allowPartialTail: false)
            XCTAssertEqual(spans.count, 1)
            XCTAssertEqual(spans[0].header.compression, codec)
            XCTAssertNoThrow(try BatchValidator(maxBatchBytes: 1 << 20).validate(batch))
            let back = try RecordBatch.records(spans[0], in: batch)
            XCTAssertEqual(back.map(\.value), records.map { $0.value }, "\(codec)")
            XCTAssertEqual(back.map(\.key), records.map { $0.key })
            XCTAssertEqual(back.map(\.timestamp), records.map { $0.timestamp })
        }
    }

    func testMagicZeroMessagesHaveNoTimestamp() throws {
        // magic 0: offset, size, crc, magic, attributes, key, value; no timestamp field.
        var body = ByteBuffer()
        body.writeInteger(UInt8(0))
        body.writeInteger(UInt8(0))
        body.writeInteger(Int32(-1))
        body.writeInteger(Int32(3))
        body.writeBytes(Array("old".utf8))
        let crc = body.withUnsafeReadableBytes { UInt32(crc32(0, $0.bindMemory(to: Bytef.self).baseAddress, uInt($0.count))) }
        var set = ByteBuffer()
        set.writeInteger(Int64(0))
        set.writeInteger(Int32(body.readableBytes + 4))
        set.writeInteger(crc)
        set.writeBuffer(&body)
        let batch = try LegacyMessageSet.upConvert(set, maxDecompressedBytes: 1 << 20)
        let record = try RecordBatch.records(try RecordBatch.spans(in: batch, allowPartialTail: false)[0], in: batch)[0]
        XCTAssertEqual(record.value, Array("old".utf8))
        XCTAssertEqual(record.timestamp, -1)
    }

    func testCorruptMessageSetsAreRefused() throws {
        var set = ByteBuffer()
        LegacyMessageSet.writeMessage(offset: 0, attributes: 0, timestamp: 1, key: nil, value: [1, 2, 3], into: &set)
        var flipped = set
        flipped.setInteger(UInt8(9), at: flipped.writerIndex - 1)
        XCTAssertThrowsError(try LegacyMessageSet.upConvert(flipped, maxDecompressedBytes: 1 << 20)) { error in
            XCTAssertEqual(error as? BatchError, .corrupt("message CRC mismatch"))
        }
        let truncated = set.getSlice(at: 0, length: set.readableBytes - 2)!
        XCTAssertThrowsError(try LegacyMessageSet.upConvert(truncated, maxDecompressedBytes: 1 << 20)) { error in
            XCTAssertEqual(error as? BatchError, .corrupt("a truncated message"))
        }
        var badCodec = ByteBuffer()
        LegacyMessageSet.writeMessage(offset: 0, attributes: 2, timestamp: 1, key: nil, value: [1, 2, 3], into: &badCodec)
        XCTAssertThrowsError(try LegacyMessageSet.upConvert(badCodec, maxDecompressedBytes: 1 << 20)) { error in
            guard case .corrupt = error as? BatchError else { return XCTFail("\(error)") }
        }
    }
}
