/// Swift types, defaults and the read/write expressions for each schema type. Reads and writes go through the
/// hand-written primitives in `CrucibleProtocol/Wire`, so the generated code stays short.
enum TypeMapping {
    static func swiftType(_ type: FieldType) -> String {
        switch type {
        case .int8: return "Int8"
        case .int16: return "Int16"
        case .int32: return "Int32"
        case .int64: return "Int64"
        case .uint16: return "UInt16"
        case .uint32: return "UInt32"
        case .float64: return "Double"
        case .bool: return "Bool"
        case .string: return "String"
        case .bytes: return "ByteBuffer"
        case .records: return "KafkaRecords"
        case .uuid: return "KafkaUUID"
        case .array(let element): return "[\(swiftType(element))]"
        case .structure(let name): return name
        }
    }

    /// The name shared by a fixed-width type's reader and writer (`readKafkaInt32` / `writeKafkaInt32`).
    private static func fixedWidthName(_ type: FieldType) -> String? {
        switch type {
        case .int8, .int16, .int32, .int64, .uint16, .uint32, .float64, .bool: return swiftType(type)
        default: return nil
        }
    }

    static func integerLiteral(_ text: String) -> Int? {
        let text = text.trimmingCharacters(in: .whitespaces)
        if text.lowercased().hasPrefix("0x") { return Int(text.dropFirst(2), radix: 16) }
        if text.lowercased().hasPrefix("-0x") { return Int(text.dropFirst(3), radix: 16).map { -$0 } }
        return Int(text)
    }

    static func defaultExpression(_ type: FieldType, schemaDefault: String?) -> String {
        switch type {
        case .int8, .int16, .int32, .int64, .uint16, .uint32:
            return schemaDefault.flatMap(integerLiteral).map(String.init) ?? "0"
        case .float64: return schemaDefault.flatMap(Double.init).map { "\($0)" } ?? "0"
        case .bool: return schemaDefault?.lowercased() == "true" ? "true" : "false"
        case .string: return Naming.stringLiteral(schemaDefault ?? "")
        default: return emptyExpression(type)
        }
    }

    /// The value written for a Swift nil in a version where the field may not be null.
    static func emptyExpression(_ type: FieldType) -> String {
        switch type {
        case .string: return "\"\""
        case .bytes: return "ByteBuffer()"
        case .records: return "KafkaRecords(ByteBuffer())"
        case .uuid: return "KafkaUUID.zero"
        case .array: return "[]"
        case .structure(let name): return "\(name)()"
        default: return defaultExpression(type, schemaDefault: nil)
        }
    }

    /// An expression reading one value from `buffer` (a mutable ByteBuffer expression).
    static func readExpression(_ type: FieldType, from buffer: String, compact: String, nullable: Bool) -> String {
        let maybeNullable = nullable ? "Nullable" : ""
        if let name = fixedWidthName(type) { return "try \(buffer).readKafka\(name == "Double" ? "Float64" : name)()" }
        switch type {
        case .string: return "try \(buffer).readKafka\(maybeNullable)String(compact: \(compact))"
        case .bytes: return "try \(buffer).readKafka\(maybeNullable)Bytes(compact: \(compact))"
        case .records: return "try \(buffer).readKafka\(maybeNullable)Records(compact: \(compact))"
        case .uuid: return "try \(buffer).readKafkaUUID()"
        case .array(let element):
            let readElement = readExpression(element, from: "$0", compact: compact, nullable: false)
            return "try \(buffer).readKafka\(maybeNullable)Array(compact: \(compact)) { \(readElement) }"
        case .structure(let name):
            if nullable { return "try \(buffer).readKafkaNullableStruct { try \(name)(from: &$0, version: version) }" }
            return "try \(name)(from: &\(buffer), version: version)"
        default: preconditionFailure("unhandled type \(type)")
        }
    }

    /// A statement writing `value` to `encoder` (a KafkaEncoder expression). `optional` says the Swift value is
    /// optional; `nullable` says null may be written in this version (else nil is written as the empty value).
    static func writeStatement(_ type: FieldType, value: String, to encoder: String, compact: String,
                               optional: Bool, nullable: Bool) -> String {
        if optional && !nullable {
            return writeStatement(type, value: "(\(value) ?? \(emptyExpression(type)))", to: encoder,
                                  compact: compact, optional: false, nullable: false)
        }
        let maybeNullable = nullable ? "Nullable" : ""
        if let name = fixedWidthName(type) {
            return "\(encoder).buffer.writeKafka\(name == "Double" ? "Float64" : name)(\(value))"
        }
        switch type {
        case .string: return "\(encoder).buffer.writeKafka\(maybeNullable)String(\(value), compact: \(compact))"
        case .bytes: return "\(encoder).buffer.writeKafka\(maybeNullable)Bytes(\(value), compact: \(compact))"
        case .records: return "\(encoder).writeRecords(\(value), compact: \(compact))"
        case .uuid: return "\(encoder).buffer.writeKafkaUUID(\(value))"
        case .array(let element):
            let writeElement = writeStatement(element, value: "$1", to: "$0", compact: compact,
                                              optional: false, nullable: false)
            return "\(encoder).write\(maybeNullable)Array(\(value), compact: \(compact)) { \(writeElement) }"
        case .structure:
            if nullable { return "\(encoder).writeNullableStruct(\(value)) { $1.encode(to: &$0, version: version) }" }
            return "\(value).encode(to: &\(encoder), version: version)"
        default: preconditionFailure("unhandled type \(type)")
        }
    }
}
