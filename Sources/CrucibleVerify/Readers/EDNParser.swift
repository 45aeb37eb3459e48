// EDN as Jepsen writes history.edn: keywords, strings, numbers, nil, booleans, vectors, lists, maps,
// sets; tagged literals (#inst, #uuid, #jepsen.history.Op) are read as the value they tag.

struct EDNParser {
    var scanner: ByteScanner

    init(_ bytes: UnsafeBufferPointer<UInt8>) { scanner = ByteScanner(bytes) }

    static func parseLine(_ bytes: UnsafeBufferPointer<UInt8>) throws -> Value {
        var parser = EDNParser(bytes)
        parser.skipSpace()
        let value = try parser.value()
        parser.skipSpace()
        guard parser.scanner.atEnd else { throw parser.scanner.fail("end of line after the EDN value") }
        return value
    }

    /// Commas are whitespace in EDN; `;` starts a comment to the end of the line.
    mutating func skipSpace() {
        while let b = scanner.peek {
            if b == 32 || b == 9 || b == 13 || b == 10 || b == UInt8(ascii: ",") {
                scanner.position += 1
            } else if b == UInt8(ascii: ";") {
                scanner.position = scanner.bytes.count
            } else {
                return
            }
        }
    }

    private static func isSymbolByte(_ b: UInt8) -> Bool {
        switch b {
        case 32, 9, 10, 13, UInt8(ascii: ","), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "["),
             UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "\""), UInt8(ascii: ";"):
            return false
        default: return true
        }
    }

    mutating func token() -> String {
        let start = scanner.position
        while let b = scanner.peek, EDNParser.isSymbolByte(b) { scanner.position += 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: scanner.bytes[start..<scanner.position]), as: UTF8.self)
    }

    mutating func value() throws -> Value {
        guard let b = scanner.peek else { throw scanner.fail("an EDN value") }
        switch b {
        case UInt8(ascii: "{"): return .map(try mapEntries())
        case UInt8(ascii: "["): return .vector(try sequence(until: UInt8(ascii: "]")))
        case UInt8(ascii: "("): return .vector(try sequence(until: UInt8(ascii: ")")))
        case UInt8(ascii: "\""): return .string(try scanner.string())
        case UInt8(ascii: ":"):
            scanner.position += 1
            let name = token()
            guard !name.isEmpty else { throw scanner.fail("a keyword name after ':'") }
            return .keyword(name)
        case UInt8(ascii: "#"):
            scanner.position += 1
            if scanner.peek == UInt8(ascii: "{") { return .set(try sequence(until: UInt8(ascii: "}"))) }
            if scanner.peek == UInt8(ascii: "_") {   // #_ discards the next form
                scanner.position += 1
                skipSpace()
                _ = try value()
                skipSpace()
                return try value()
            }
            guard !token().isEmpty else { throw scanner.fail("a tag or '{' after '#'") }
            skipSpace()
            return try value()
        case 48...57:
            return try numberWithSuffix()
        case UInt8(ascii: "-"), UInt8(ascii: "+"):
            if scanner.position + 1 < scanner.bytes.count, (48...57).contains(scanner.bytes[scanner.position + 1]) {
                return try numberWithSuffix()
            }
            return .string(token())
        default:
            let start = scanner.position
            let word = token()
            switch word {
            case "nil": return .null
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "": scanner.position = start; throw scanner.fail("an EDN value")
            default: return .string(word)   // a bare symbol; histories use none, keep its text
            }
        }
    }

    /// Clojure marks big integers with N and big decimals with M.
    mutating func numberWithSuffix() throws -> Value {
        let n = try scanner.number()
        if scanner.peek == UInt8(ascii: "N") || scanner.peek == UInt8(ascii: "M") { scanner.position += 1 }
        return n
    }

    mutating func sequence(until close: UInt8) throws -> [Value] {
        scanner.position += 1
        var items: [Value] = []
        while true {
            skipSpace()
            if scanner.peek == close { scanner.position += 1; return items }
            guard !scanner.atEnd else { throw scanner.fail("'\(Character(Unicode.Scalar(close)))'") }
            items.append(try value())
        }
    }

    mutating func mapEntries() throws -> [Value.MapEntry] {
        scanner.position += 1
        var entries: [Value.MapEntry] = []
        while true {
            skipSpace()
            if scanner.peek == UInt8(ascii: "}") { scanner.position += 1; return entries }
            guard !scanner.atEnd else { throw scanner.fail("'}'") }
            let key = try value()
            skipSpace()
            guard !scanner.atEnd, scanner.peek != UInt8(ascii: "}") else { throw scanner.fail("a value for map key \(key)") }
            entries.append(Value.MapEntry(key, try value()))
        }
    }
}
