// The KV model with every string a small integer. Appends make a key's value grow with the history, and the
// search hashes and compares its state at every step (the memo), so the plain model's String state costs time
// in proportion to the value's length; here each distinct value is numbered once, an append's result is looked
// up by (value, suffix), and state comparison is an integer's.

/// A KV operation's input with its string numbered.
public enum InternedKVInput: Sendable {
    case get
    case put(Int32)
    case append(Int32)
}

/// Every value the search has met, numbered; append results remembered. One search at a time uses it.
final class KVValueTable: @unchecked Sendable {
    private(set) var strings: [String] = []
    private var numbers: [String: Int32] = [:]
    private var appended: [Int64: Int32] = [:]

    func number(_ string: String) -> Int32 {
        if let known = numbers[string] { return known }
        let made = Int32(strings.count)
        strings.append(string)
        numbers[string] = made
        return made
    }

    func append(_ value: Int32, _ suffix: Int32) -> Int32 {
        let key = Int64(value) << 32 | Int64(suffix)
        if let known = appended[key] { return known }
        let made = number(strings[Int(value)] + strings[Int(suffix)])
        appended[key] = made
        return made
    }
}

public struct InternedKVModel: LinearizabilityModel {
    let table: KVValueTable
    public let initialState: Int32

    /// The model and the partitions in its numbers.
    public static func interning(_ partitions: [Partition<KVInput, String>]) -> (InternedKVModel, [Partition<InternedKVInput, Int32>]) {
        let table = KVValueTable()
        let model = InternedKVModel(table: table, initialState: table.number(""))
        let numbered = partitions.map { partition in
            Partition(key: partition.key, operations: partition.operations.map { op in
                let input: InternedKVInput
                switch op.input {
                case .get: input = .get
                case .put(let value): input = .put(table.number(value))
                case .append(let value): input = .append(table.number(value))
                }
                return ModelOperation(index: op.index, call: op.call, ret: op.ret, input: input, output: op.output.map(table.number))
            })
        }
        return (model, numbered)
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
        let text = { (number: Int32) in self.table.strings[Int(number)] }
        switch input {
        case .get: return KVModel().describe(.get, output.map(text))
        case .put(let value): return KVModel().describe(.put(text(value)), nil)
        case .append(let value): return KVModel().describe(.append(text(value)), nil)
        }
    }
}
