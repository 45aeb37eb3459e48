// The KV model with every string a small integer. Appends make a key's value grow with the history, and the
// search hashes and compares its state at every step (the memo), so the plain model's String state costs time
// in proportion to the value's length; here each distinct value is numbered once (by fingerprint, without
// building appended strings), an append's result is looked up by (value, suffix), and state comparison is an
// integer's.

/// A KV operation's input with its string numbered.
public enum InternedKVInput: Sendable {
    case get
    case put(Int32)
    case append(Int32)
}

/// Every value one partition's search has met, numbered. A value is known by its length and two 64-bit polynomial
/// hashes of its bytes: the hashes of a concatenation follow from its parts' (h(a+b) = h(a)·P^|b| + h(b)), so an
/// append's result is numbered without building the string, however long the key's value has grown. Two different
/// values would share a number only if both 64-bit hashes and the length collided at once (odds of the order of
/// 2^-120 per pair). Only values the history itself names keep their text, for reports. One search uses a table.
final class KVValueTable: @unchecked Sendable {
    private struct Fingerprint: Equatable {
        var first: UInt64
        var second: UInt64
        var length: Int
    }
    private static let bases: (UInt64, UInt64) = (0x100_0000_01B3, 0x9E37_79B9_7F4A_7C15 | 1)

    // Indexed by value number. Only values the history names have a text.
    private var fingerprints: [Fingerprint] = []
    private var texts: [String?] = []
    private var byFingerprint = SlotIndex()
    // (value, suffix) -> the value appending makes, entry by entry.
    private var appends: [(key: UInt64, result: Int32)] = []
    private var byAppend = SlotIndex()

    private func number(_ fingerprint: Fingerprint) -> Int32 {
        let (known, slot) = byFingerprint.find(fingerprint.first) { fingerprints[Int($0)] == fingerprint }
        if let known { return known }
        let made = Int32(fingerprints.count)
        fingerprints.append(fingerprint)
        texts.append(nil)
        byFingerprint.insert(made, at: slot) { fingerprints[Int($0)].first }
        return made
    }

    func number(_ string: String) -> Int32 {
        var print = Fingerprint(first: 0, second: 0, length: 0)
        for byte in string.utf8 {
            print.first = print.first &* Self.bases.0 &+ UInt64(byte)
            print.second = print.second &* Self.bases.1 &+ UInt64(byte)
            print.length += 1
        }
        let made = number(print)
        texts[Int(made)] = string
        return made
    }

    func text(_ number: Int32) -> String { texts[Int(number)] ?? "" }

    func append(_ value: Int32, _ suffix: Int32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: value)) << 32 | UInt64(UInt32(bitPattern: suffix))
        let (known, slot) = byAppend.find(key) { appends[Int($0)].key == key }
        if let known { return appends[Int(known)].result }
        let (a, b) = (fingerprints[Int(value)], fingerprints[Int(suffix)])
        let made = number(Fingerprint(first: a.first &* Self.power(Self.bases.0, b.length) &+ b.first,
                                      second: a.second &* Self.power(Self.bases.1, b.length) &+ b.second,
                                      length: a.length + b.length))
        appends.append((key, made))
        byAppend.insert(Int32(appends.count - 1), at: slot) { appends[Int($0)].key }
        return made
    }

    /// base^exponent, wrapping.
    private static func power(_ base: UInt64, _ exponent: Int) -> UInt64 {
        var result: UInt64 = 1, square = base, left = exponent
        while left > 0 {
            if left & 1 == 1 { result = result &* square }
            square = square &* square
            left >>= 1
        }
        return result
    }
}

public struct InternedKVModel: LinearizabilityModel {
    let table: KVValueTable
    public let initialState: Int32

    /// Each partition in numbers of its own, with its model: partitions are searched concurrently, and a table
    /// is one search's at a time.
    public static func interning(_ partitions: [Partition<KVInput, String>]) -> [(model: InternedKVModel, partition: Partition<InternedKVInput, Int32>)] {
        partitions.map { partition in
            let table = KVValueTable()
            let model = InternedKVModel(table: table, initialState: table.number(""))
            let numbered = Partition(key: partition.key, operations: partition.operations.map { op in
                let input: InternedKVInput
                switch op.input {
                case .get: input = .get
                case .put(let value): input = .put(table.number(value))
                case .append(let value): input = .append(table.number(value))
                }
                return ModelOperation(index: op.index, call: op.call, ret: op.ret, input: input, output: op.output.map(table.number))
            })
            return (model, numbered)
        }
    }

    public func step(_ state: Int32, _ input: InternedKVInput, _ output: Int32?) -> Int32? {
        switch input {
        case .get:
            guard let value = output else { return state }
            return value == state ? state : nil
        case .put(let value): return value
        case .append(let suffix): return table.append(state, suffix)
        }
    }

    public func describe(_ input: InternedKVInput, _ output: Int32?) -> String {
        let text = { (number: Int32) in self.table.text(number) }
        switch input {
        case .get: return KVModel().describe(.get, output.map(text))
        case .put(let value): return KVModel().describe(.put(text(value)), nil)
        case .append(let value): return KVModel().describe(.append(text(value)), nil)
        }
    }
}
