import CrucibleClient

/// Kafka's `DefaultMessageFormatter`: optional timestamp, partition, offset, headers and key before the value,
/// each followed by `key.separator`, and `line.separator` after the last field.
struct MessageFormatter {
    var printTimestamp = false
    var printPartition = false
    var printOffset = false
    var printHeaders = false
    var printKey = false
    var printValue = true
    var keySeparator = Array("\t".utf8)
    var lineSeparator = Array("\n".utf8)
    var headersSeparator = Array(",".utf8)
    var nullLiteral = Array("null".utf8)

    init(_ properties: [String: String]) throws {
        func flag(_ key: String, _ fallback: Bool) throws -> Bool {
            try Tool.bool(properties, key, default: fallback, flag: "--property")
        }
        printTimestamp = try flag("print.timestamp", false)
        printPartition = try flag("print.partition", false)
        printOffset = try flag("print.offset", false)
        printHeaders = try flag("print.headers", false)
        printKey = try flag("print.key", false)
        printValue = try flag("print.value", true)
        if let value = properties["key.separator"] { keySeparator = Array(value.utf8) }
        if let value = properties["line.separator"] { lineSeparator = Array(value.utf8) }
        if let value = properties["headers.separator"] { headersSeparator = Array(value.utf8) }
        if let value = properties["null.literal"] { nullLiteral = Array(value.utf8) }
    }

    func write(_ record: ConsumedRecord, to out: inout [UInt8]) {
        var fields: [[UInt8]] = []
        if printTimestamp {
            fields.append(Array("\(record.isLogAppendTime ? "LogAppendTime" : "CreateTime"):\(record.timestamp)".utf8))
        }
        if printPartition { fields.append(Array("Partition:\(record.partition.partition)".utf8)) }
        if printOffset { fields.append(Array("Offset:\(record.offset)".utf8)) }
        if printHeaders {
            let headers = record.headers.map { Array("\($0.key):".utf8) + ($0.value ?? nullLiteral) }
            fields.append(headers.isEmpty ? Array("NO_HEADERS".utf8) : Array(headers.joined(separator: headersSeparator)))
        }
        if printKey { fields.append(record.key ?? nullLiteral) }
        if printValue { fields.append(record.value ?? nullLiteral) }
        guard !fields.isEmpty else { return }
        out += fields.joined(separator: keySeparator)
        out += lineSeparator
    }
}
