// What every checker returns: the contract's analysis.json, as a value.

public enum Validity: Sendable, Equatable {
    case valid, invalid, unknown

    /// The contract's exit codes: 0 valid, 1 invalid, 3 unknown.
    public var exitCode: Int32 {
        switch self {
        case .valid: return 0
        case .invalid: return 1
        case .unknown: return 3
        }
    }

    var json: Value {
        switch self {
        case .valid: return .bool(true)
        case .invalid: return .bool(false)
        case .unknown: return .string("unknown")
        }
    }
}

/// One anomaly and the operations (by history `index`) that prove it.
public struct Anomaly: Sendable {
    public var type: String
    /// The partition (Kafka key, register or KV key) it concerns, when there is one.
    public var key: Value?
    public var ops: [Int]
    /// Type-specific facts: values, offsets, deltas, prefixes.
    public var details: [Value.MapEntry]

    public init(type: String, key: Value? = nil, ops: [Int], details: [(String, Value)] = []) {
        self.type = type
        self.key = key
        self.ops = ops
        self.details = details.map { Value.MapEntry(.string($0.0), $0.1) }
    }

    public func detail(_ name: String) -> Value? {
        for entry in details where entry.key.name == name { return entry.value }
        return nil
    }

    /// The witness as written into analysis.json.
    public var witness: Value {
        var entries: [Value.MapEntry] = []
        if let key { entries.append(.init(.string("key"), key)) }
        entries.append(.init(.string("ops"), .vector(ops.map(Value.int))))
        entries.append(contentsOf: details)
        return .map(entries)
    }
}

public struct Analysis: Sendable {
    public var checker: String
    public var validity: Validity
    /// Every anomaly found, in a stable order (by type, then as found).
    public var anomalies: [Anomaly]
    /// Types that were found but do not make the history invalid (e.g. int-send-skip, or poll-skip under
    /// subscribe, as Jepsen allows).
    public var allowedTypes: Set<String>
    public var stats: [Value.MapEntry]

    public init(checker: String, validity: Validity, anomalies: [Anomaly], allowedTypes: Set<String> = [],
                stats: [(String, Value)] = []) {
        self.checker = checker
        self.validity = validity
        self.anomalies = anomalies
        self.allowedTypes = allowedTypes
        self.stats = stats.map { Value.MapEntry(.string($0.0), $0.1) }
    }

    /// Anomaly types present, sorted.
    public var anomalyTypes: [String] { Array(Set(anomalies.map(\.type))).sorted() }
    /// Those present that make the history invalid.
    public var badAnomalyTypes: [String] { anomalyTypes.filter { !allowedTypes.contains($0) } }

    public func anomalies(ofType type: String) -> [Anomaly] { anomalies.filter { $0.type == type } }

    /// The contract's analysis.json object. Witness lists are capped per type so that a badly broken
    /// history still yields a file people can open; `stats.anomaly-counts` keeps the true counts.
    public func json(maxWitnessesPerType: Int = 1000) -> Value {
        var byType: [String: [Value]] = [:]
        var counts: [String: Int] = [:]
        for a in anomalies {
            counts[a.type, default: 0] += 1
            if byType[a.type, default: []].count < maxWitnessesPerType { byType[a.type, default: []].append(a.witness) }
        }
        let types = anomalyTypes
        var statEntries = stats
        statEntries.append(.init(.string("anomaly-counts"),
                                 .map(types.map { .init(.string($0), .int(counts[$0] ?? 0)) })))
        return .map([
            .init(.string("valid"), validity.json),
            .init(.string("checker"), .string(checker)),
            .init(.string("anomaly-types"), .vector(types.map(Value.string))),
            .init(.string("bad-anomaly-types"), .vector(badAnomalyTypes.map(Value.string))),
            .init(.string("anomalies"), .map(types.map { .init(.string($0), .vector(byType[$0] ?? [])) })),
            .init(.string("stats"), .map(statEntries)),
        ])
    }
}
