// Writes operations in the contract's history.jsonl format.

public enum HistoryWriter {
    public static func jsonl(_ op: Operation) -> String {
        var entries: [Value.MapEntry] = [.init(.string("index"), .int(op.index))]
        if let time = op.time { entries.append(.init(.string("time"), .int(time))) }
        let process: Value
        switch op.process {
        case .client(let p): process = .int(p)
        case .named(let n): process = .string(n)
        }
        entries.append(.init(.string("process"), process))
        entries.append(.init(.string("type"), .string(op.type.rawValue)))
        entries.append(.init(.string("f"), .string(op.f)))
        if let key = op.key { entries.append(.init(.string("key"), key)) }
        entries.append(.init(.string("value"), op.value))
        entries.append(contentsOf: op.extra)
        return JSONWriter.string(.map(entries), pretty: false)
    }

    public static func jsonl(_ ops: [Operation]) -> String {
        var out = ""
        for op in ops {
            out += jsonl(op)
            out += "\n"
        }
        return out
    }
}
