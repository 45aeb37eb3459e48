// What the linearizability search needs to know about a datatype: its initial state and how one
// operation moves it. New models (queues, sets...) conform and reuse the same search.

public protocol LinearizabilityModel {
    associatedtype State: Hashable
    associatedtype Input
    associatedtype Output

    var initialState: State { get }

    /// The state after applying `input` to `state` when it returned `output`, or nil if that output is
    /// impossible from that state. `output` is nil for an indeterminate operation: any output goes.
    func step(_ state: State, _ input: Input, _ output: Output?) -> State?

    /// Short text for an operation, in reports.
    func describe(_ input: Input, _ output: Output?) -> String
}

/// One operation on one partition, as the search sees it.
public struct ModelOperation<Input, Output> {
    /// The history index reports name: the completion's, or the invocation's if it never completed.
    public var index: Int
    /// Positions in the history of the invocation and completion; an indeterminate operation completes
    /// at infinity (Int.max): it may take effect at any time after its invocation, or never.
    public var call: Int
    public var ret: Int
    public var input: Input
    public var output: Output?

    public init(index: Int, call: Int, ret: Int, input: Input, output: Output?) {
        self.index = index
        self.call = call
        self.ret = ret
        self.input = input
        self.output = output
    }
}

// MARK: - Register: read / write / cas, initially absent (nil).

public enum RegisterInput: Sendable {
    case read
    case write(Int)
    case cas(expected: Int, new: Int)
}

public enum RegisterOutput: Sendable {
    /// A read's value (nil: absent).
    case read(Int?)
    /// A write or cas that completed ok.
    case done
}

public struct RegisterModel: LinearizabilityModel {
    public init() {}
    public var initialState: Int? { nil }

    public func step(_ state: Int?, _ input: RegisterInput, _ output: RegisterOutput?) -> Int?? {
        switch input {
        case .read:
            guard case .read(let v)? = output else { return .some(state) }   // indeterminate read: no constraint
            return v == state ? .some(state) : nil
        case .write(let v):
            return .some(v)
        case .cas(let expected, let new):
            if output == nil { return .some(state == expected ? new : state) }   // may or may not have applied
            return state == expected ? .some(new) : nil
        }
    }

    public func describe(_ input: RegisterInput, _ output: RegisterOutput?) -> String {
        switch input {
        case .read:
            if case .read(let v)? = output { return "read -> \(v.map(String.init) ?? "nil")" }
            return "read -> ?"
        case .write(let v): return "write \(v)" + (output == nil ? " ?" : "")
        case .cas(let a, let b): return "cas \(a)->\(b)" + (output == nil ? " ?" : "")
        }
    }
}

// MARK: - KV: get / put / append on string values, each key initially "".

public enum KVInput: Sendable {
    case get
    case put(String)
    case append(String)
}

public struct KVModel: LinearizabilityModel {
    public init() {}
    public var initialState: String { "" }

    /// Output: what a get returned (nil for put/append, or an indeterminate get).
    public func step(_ state: String, _ input: KVInput, _ output: String?) -> String? {
        switch input {
        case .get:
            guard let v = output else { return state }
            return v == state ? state : nil
        case .put(let v): return v
        case .append(let v): return state + v
        }
    }

    public func describe(_ input: KVInput, _ output: String?) -> String {
        switch input {
        case .get: return "get -> \(output.map { "\"\($0)\"" } ?? "?")"
        case .put(let v): return "put \"\(v)\""
        case .append(let v): return "append \"\(v)\""
        }
    }
}
