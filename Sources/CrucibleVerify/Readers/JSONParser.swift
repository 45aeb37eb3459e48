// One JSON value per line (the contract's history.jsonl).

struct JSONParser {
    var scanner: ByteScanner

    init(_ bytes: UnsafeBufferPointer<UInt8>) { scanner = ByteScanner(bytes) }

    /// Parses a whole line as exactly one value.
    static func parseLine(_ bytes: UnsafeBufferPointer<UInt8>) throws -> Value {
        var parser = JSONParser(bytes)
        parser.skipSpace()
        let value = try parser.value()
        parser.skipSpace()
        guard parser.scanner.atEnd else { throw parser.scanner.fail("end of line after the JSON value") }
        return value
    }

    mutating func skipSpace() {
        while let b = scanner.peek, b == 32 || b == 9 || b == 13 || b == 10 { scanner.position += 1 }
    }

    mutating func value() throws -> Value {
        guard let b = scanner.peek else { throw scanner.fail("a JSON value") }
        switch b {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try scanner.string())
        case UInt8(ascii: "-"), 48...57: return try scanner.number()
        default:
            if scanner.consume("null") { return .null }
            if scanner.consume("true") { return .bool(true) }
            if scanner.consume("false") { return .bool(false) }
            throw scanner.fail("a JSON value")
        }
    }

    mutating func array() throws -> Value {
        scanner.position += 1
        var items: [Value] = []
        skipSpace()
        if scanner.peek == UInt8(ascii: "]") { scanner.position += 1; return .vector(items) }
        while true {
            skipSpace()
            items.append(try value())
            skipSpace()
            if scanner.peek == UInt8(ascii: ",") { scanner.position += 1; continue }
            try scanner.expect(UInt8(ascii: "]"), "',' or ']'")
            return .vector(items)
        }
    }

    mutating func object() throws -> Value {
        scanner.position += 1
        var entries: [Value.MapEntry] = []
        skipSpace()
        if scanner.peek == UInt8(ascii: "}") { scanner.position += 1; return .map(entries) }
        while true {
            skipSpace()
            guard scanner.peek == UInt8(ascii: "\"") else { throw scanner.fail("a string key") }
            let key = try scanner.string()
            skipSpace()
            try scanner.expect(UInt8(ascii: ":"), "':' after an object key")
            skipSpace()
            entries.append(Value.MapEntry(.string(key), try value()))
            skipSpace()
            if scanner.peek == UInt8(ascii: ",") { scanner.position += 1; continue }
            try scanner.expect(UInt8(ascii: "}"), "',' or '}'")
            return .map(entries)
        }
    }
}
