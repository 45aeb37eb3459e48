// The shared lexing of JSON and EDN: both spell numbers and strings alike. Hand-written over bytes,
// because a history can hold millions of lines and Foundation's JSONSerialization is several times
// slower (docs/PERFORMANCE.md has the figures).

struct ParseFailure: Error {
    let column: Int
    let expected: String
}

struct ByteScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var atEnd: Bool { position >= bytes.count }
    var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    func fail(_ expected: String) -> ParseFailure {
        let found = peek.map { "'\(Character(Unicode.Scalar($0)))'" } ?? "end of line"
        return ParseFailure(column: position + 1, expected: "\(expected), found \(found) at column \(position + 1)")
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws {
        guard peek == byte else { throw fail(what) }
        position += 1
    }

    /// Integer or floating-point number starting at the current byte (`-` or a digit).
    mutating func number() throws -> Value {
        let start = position
        var negative = false
        if peek == UInt8(ascii: "-") { negative = true; position += 1 } else if peek == UInt8(ascii: "+") { position += 1 }
        var magnitude = 0
        var digits = 0
        var overflow = false
        while let b = peek, b >= 48, b <= 57 {
            let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(Int(b - 48))
            overflow = overflow || o1 || o2
            magnitude = m2
            digits += 1
            position += 1
        }
        guard digits > 0 else { position = start; throw fail("a number") }
        var isFloat = false
        if peek == UInt8(ascii: ".") || peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            isFloat = true
            position += 1
            while let b = peek, (b >= 48 && b <= 57) || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
                || b == UInt8(ascii: "-") || b == UInt8(ascii: "+") || b == UInt8(ascii: ".") {
                position += 1
            }
        }
        if isFloat || overflow {
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            guard let d = Double(text) else { position = start; throw fail("a number") }
            return .double(d)
        }
        return .int(negative ? -magnitude : magnitude)
    }

    /// A double-quoted string with JSON/EDN escapes; the opening quote is the current byte.
    mutating func string() throws -> String {
        try expect(UInt8(ascii: "\""), "'\"'")
        let start = position
        // Fast path: no escapes, decode the slice directly.
        while let b = peek, b != UInt8(ascii: "\""), b != UInt8(ascii: "\\") { position += 1 }
        guard let stop = peek else { throw fail("a closing '\"'") }
        if stop == UInt8(ascii: "\"") {
            let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            position += 1
            return s
        }
        var out = Array(bytes[start..<position])
        while true {
            guard let b = peek else { throw fail("a closing '\"'") }
            position += 1
            if b == UInt8(ascii: "\"") { break }
            if b != UInt8(ascii: "\\") { out.append(b); continue }
            guard let e = peek else { throw fail("an escape character") }
            position += 1
            switch e {
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "u"):
                guard position + 4 <= bytes.count,
                      let code = UInt32(String(decoding: UnsafeBufferPointer(rebasing: bytes[position..<position + 4]),
                                               as: UTF8.self), radix: 16)
                else { throw fail("four hex digits after \\u") }
                position += 4
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: out.append(e)   // \" \\ \/
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// True if the bytes at the current position spell `word` (and then consumes them).
    mutating func consume(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        let w = word.utf8Start
        for i in 0..<count where bytes[position + i] != w[i] { return false }
        position += count
        return true
    }
}
