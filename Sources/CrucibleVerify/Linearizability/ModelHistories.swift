// Turns a history into per-key operations for the register and KV models. A :fail certainly did not
// happen and is dropped; an :info or unanswered invoke may take effect any time after its invocation
// (completion at infinity, output unknown); an indeterminate read constrains nothing and is dropped.

public enum ModelHistories {
    public static func registers(_ history: History) throws -> [Partition<RegisterInput, RegisterOutput>] {
        try partitions(history, functions: ["read", "write", "cas"], defaultKey: .string("register")) { invoke, completion in
            let bad = { HistoryReadError(file: history.source, line: invoke.line, expected: $0) }
            switch invoke.f {
            case "read":
                guard let completion else { return nil }
                guard completion.value.isNull || completion.value.intValue != nil else {
                    throw bad("a read to return nil or an integer, found \(completion.value)")
                }
                return (.read, .read(completion.value.intValue))
            case "write":
                guard let v = invoke.value.intValue else { throw bad("write of an integer, found \(invoke.value)") }
                return (.write(v), completion == nil ? nil : .done)
            default:
                guard let pair = invoke.value.elements, pair.count == 2, let a = pair[0].intValue, let b = pair[1].intValue else {
                    throw bad("cas of [expected new] integers, found \(invoke.value)")
                }
                return (.cas(expected: a, new: b), completion == nil ? nil : .done)
            }
        }
    }

    public static func kv(_ history: History) throws -> [Partition<KVInput, String>] {
        try partitions(history, functions: ["get", "put", "append"], defaultKey: nil) { invoke, completion in
            let bad = { HistoryReadError(file: history.source, line: invoke.line, expected: $0) }
            switch invoke.f {
            case "get":
                guard let completion else { return nil }
                if completion.value.isNull { return (.get, "") }
                guard case .string(let s) = completion.value else { throw bad("a get to return a string, found \(completion.value)") }
                return (.get, s)
            default:
                guard case .string(let s) = invoke.value else { throw bad("\(invoke.f) of a string, found \(invoke.value)") }
                return (invoke.f == "put" ? .put(s) : .append(s), nil)
            }
        }
    }

    /// `decode(invoke, completion)` gets the ok completion, or nil when the outcome is unknown; it returns
    /// nil to drop an operation that constrains nothing.
    static func partitions<I, O>(_ history: History, functions: [String], defaultKey: Value?,
                                 decode: (Operation, Operation?) throws -> (I, O?)?) throws -> [Partition<I, O>] {
        var byKey: [Value: [ModelOperation<I, O>]] = [:]
        var order: [Value] = []
        let operations = history.operations
        for position in operations.indices {
            // Fields read in place: an entry skipped here is never copied whole.
            guard operations[position].type == .invoke, operations[position].process.isClient,
                  functions.contains(operations[position].f) else { continue }
            let invoke = operations[position]
            let done = history.completion(of: position)
            let completion = done.map { operations[$0] }
            if completion?.type == .fail { continue }
            let known = completion?.type == .ok ? completion : nil
            guard let key = invoke.key ?? completion?.key ?? defaultKey else {
                throw HistoryReadError(file: history.source, line: invoke.line, expected: "a key field")
            }
            guard let (input, output) = try decode(invoke, known) else { continue }
            if byKey[key] == nil { order.append(key) }
            // Named by the completion's index, as Kafka witnesses are (the invocation's when there is none).
            let index = completion?.index ?? invoke.index
            byKey[key, default: []].append(ModelOperation(index: index, call: position,
                                                          ret: known != nil ? done! : Int.max, input: input, output: output))
        }
        return order.map { Partition(key: $0, operations: byKey[$0]!) }
    }
}
