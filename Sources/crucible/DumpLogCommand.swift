import ArgumentParser
import CrucibleRecords
import Foundation
import NIOCore

/// `kafka-dump-log.sh` for `.log` segments, offline: one line per batch and, with `--print-data-log`, one per
/// record. A torn or corrupt tail is reported as Kafka reports it, not treated as a crash.
struct DumpLogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump-log", abstract: "Print the batches and records of log segment files (as kafka-dump-log.sh).")

    @Option(name: .long, help: "Comma-separated .log segment files.") var files: String
    @Flag(name: .long, help: "Print every record with its key and payload.") var printDataLog = false
    @Flag(name: .long, help: "Print every record (without contents unless --print-data-log).") var deepIteration = false
    @Flag(name: .long, help: "Decode __consumer_offsets records (offset commits and group metadata) as JSON.")
    var offsetsDecoder = false
    @Flag(name: .long, help: "Decode __transaction_state records (transactional ids' states) as JSON.")
    var transactionLogDecoder = false

    func validate() throws {
        if offsetsDecoder && transactionLogDecoder {
            throw ValidationError("--offsets-decoder and --transaction-log-decoder cannot be combined")
        }
    }

    func run() throws {
        let decoder: SegmentDump.Decoder? = offsetsDecoder ? .offsets : transactionLogDecoder ? .transactionLog : nil
        for path in files.split(separator: ",").map(String.init) {
            guard path.hasSuffix(".log") else { throw UsageError("--files \(path): only .log segment files can be dumped") }
            guard let data = FileManager.default.contents(atPath: path) else { throw UsageError("--files \(path): cannot read it") }
            var output = ""
            // A decoder implies printing every record's contents, as in Kafka.
            SegmentDump(path: path, bytes: ByteBuffer(bytes: data), printRecords: printDataLog || deepIteration || decoder != nil,
                        printContents: printDataLog || decoder != nil, decoder: decoder).write(to: &output)
            FileHandle.standardOutput.write(Data(output.utf8))
        }
    }
}

/// The text kafka-dump-log prints for one segment.
struct SegmentDump {
    let path: String
    let bytes: ByteBuffer
    let printRecords: Bool
    let printContents: Bool
    /// How the records of an internal topic are decoded, if they are.
    enum Decoder { case offsets, transactionLog }
    var decoder: Decoder? = nil

    var fileName: String { URL(fileURLWithPath: path).lastPathComponent }

    func write(to out: inout String) {
        out += "Dumping \(path)\n"
        // Kafka takes the starting offset from the file name (20-digit base offset).
        let startOffset = Int64(fileName.prefix { $0 != "." }) ?? RecordBatchHeader(bytes, at: 0)?.baseOffset ?? 0
        out += "Log starting offset: \(startOffset)\n"
        var position = 0
        while let header = RecordBatchHeader(bytes, at: position), header.magic == 2,
              header.batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead),
              header.totalSize <= bytes.writerIndex - position {
            let span = BatchSpan(header: header, start: position)
            out += batchLine(span)
            if printRecords { writeRecords(span, to: &out) }
            position += header.totalSize
        }
        if position < bytes.writerIndex {
            out += "Found \(bytes.writerIndex - position) invalid bytes at the end of \(fileName)\n"
        }
    }

    private func timestampType(_ header: RecordBatchHeader) -> String {
        header.isLogAppendTime ? "LogAppendTime" : "CreateTime"
    }

    private func batchLine(_ span: BatchSpan) -> String {
        let h = span.header
        return "baseOffset: \(h.baseOffset) lastOffset: \(h.lastOffset) count: \(h.recordCount) "
            + "baseSequence: \(h.baseSequence) lastSequence: \(h.lastSequence) producerId: \(h.producerId) "
            + "producerEpoch: \(h.producerEpoch) partitionLeaderEpoch: \(h.partitionLeaderEpoch) "
            + "isTransactional: \(h.isTransactional) isControl: \(h.isControl) position: \(span.start) "
            + "\(timestampType(h)): \(h.maxTimestamp) size: \(span.size) magic: \(h.magic) "
            + "compresscodec: \(h.compression?.name ?? "unknown(\(h.attributes & 0x7))") crc: \(h.crc) "
            + "isvalid: \(RecordBatch.crcMatches(span, in: bytes))\n"
    }

    private func writeRecords(_ span: BatchSpan, to out: inout String) {
        let h = span.header
        let records: [Record]
        do {
            records = try RecordBatch.records(span, in: bytes)
        } catch {
            out += "| records unreadable: \(error)\n"
            return
        }
        for record in records {
            let offsetDelta = record.offset - h.baseOffset
            // Sequence numbers wrap at Int32.max like the batch's lastSequence.
            let sequence = h.baseSequence < 0 ? -1 : (Int64(h.baseSequence) + offsetDelta) % (Int64(Int32.max) + 1)
            let timestamp = h.isLogAppendTime ? h.maxTimestamp : record.timestamp
            out += "| offset: \(record.offset) \(timestampType(h)): \(timestamp) keySize: \(record.key?.count ?? -1) "
                + "valueSize: \(record.value?.count ?? -1) sequence: \(sequence) "
                + "headerKeys: [\(record.headers.map(\.key).joined(separator: ","))]"
            if h.isControl {
                out += Self.controlMarker(record)
            } else if let decoder {
                let (key, payload) = decoder == .offsets ? OffsetsDecoder.format(record) : TransactionLogDecoder.format(record)
                out += " key: \(key)"
                if let payload { out += " payload: \(payload)" }
            } else if printContents {
                if let key = record.key { out += " key: \(String(decoding: key, as: UTF8.self))" }
                if let value = record.value { out += " payload: \(String(decoding: value, as: UTF8.self))" }
            }
            out += "\n"
        }
    }

    /// As Kafka's DumpLogSegments prints a control record: a transaction marker with its coordinator epoch, or
    /// the control type.
    static func controlMarker(_ record: Record) -> String {
        guard let type = ControlRecord.type(ofKey: record.key) else { return " controlType: unknown" }
        guard let marker = ControlRecord.Marker(rawValue: type) else { return " controlType: \(type)" }
        let epoch = ControlRecord.marker(in: record).map { String($0.coordinatorEpoch) } ?? "unknown"
        return " endTxnMarker: \(marker == .abort ? "ABORT" : "COMMIT") coordinatorEpoch: \(epoch)"
    }
}
