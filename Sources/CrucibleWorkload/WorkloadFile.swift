import Foundation
import Yams

/// A YAML file that cannot be used, naming the file, and the key or line at fault.
public struct WorkloadFileError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ file: String, _ reason: String) { description = "\(file): \(reason)" }
}

/// A YAML mapping read key by key, so every refusal names the file and the key, and keys nobody read can be
/// warned about (OMB ignores unknown keys; a typo there silently changes a benchmark).
struct YAMLMapping {
    let file: String
    private let values: [String: Any]
    private(set) var read: Set<String> = []

    init(file: String, text: String) throws {
        let loaded: Any?
        do {
            loaded = try Yams.load(yaml: text)
        } catch {
            throw WorkloadFileError(file, "not YAML: \(error)")
        }
        guard let mapping = loaded as? [String: Any] else { throw WorkloadFileError(file, "expected a YAML mapping of keys") }
        self.init(file: file, values: mapping)
    }

    init(file: String, values: [String: Any]) {
        self.file = file
        self.values = values
    }

    static func load(path: String) throws -> YAMLMapping {
        guard let data = FileManager.default.contents(atPath: path) else { throw WorkloadFileError(path, "cannot be read") }
        return try YAMLMapping(file: path, text: String(decoding: data, as: UTF8.self))
    }

    mutating func markRead(_ key: String) { read.insert(key) }
    func raw(_ key: String) -> Any? { values[key] }

    var unreadKeys: [String] { values.keys.filter { !read.contains($0) }.sorted() }
    func has(_ key: String) -> Bool { values[key] != nil && !(values[key] is NSNull) }

    mutating func string(_ key: String) throws -> String? {
        read.insert(key)
        guard let value = values[key], !(value is NSNull) else { return nil }
        if let text = value as? String { return text }
        if value is Int || value is Double || value is Bool { return "\(value)" }
        throw WorkloadFileError(file, "\(key): expected a string")
    }

    mutating func number(_ key: String) throws -> Double? {
        read.insert(key)
        guard let value = values[key], !(value is NSNull) else { return nil }
        if let int = value as? Int { return Double(int) }
        if let double = value as? Double, double.isFinite { return double }
        throw WorkloadFileError(file, "\(key): expected a number, not \(value)")
    }

    mutating func int(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        read.insert(key)
        guard let value = values[key], !(value is NSNull) else { return fallback }
        guard let int = value as? Int else { throw WorkloadFileError(file, "\(key): expected an integer, not \(value)") }
        guard range.contains(int) else { throw WorkloadFileError(file, "\(key): \(int) is outside \(range.lowerBound)...\(range.upperBound)") }
        return int
    }

    mutating func double(_ key: String, default fallback: Double, range: ClosedRange<Double>) throws -> Double {
        guard let value = try number(key) else { return fallback }
        guard range.contains(value) else { throw WorkloadFileError(file, "\(key): \(value) is outside \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    mutating func bool(_ key: String, default fallback: Bool) throws -> Bool {
        read.insert(key)
        guard let value = values[key], !(value is NSNull) else { return fallback }
        guard let bool = value as? Bool else { throw WorkloadFileError(file, "\(key): expected true or false, not \(value)") }
        return bool
    }

    mutating func mapping(_ key: String) throws -> YAMLMapping? {
        read.insert(key)
        guard let value = values[key], !(value is NSNull) else { return nil }
        guard let nested = value as? [String: Any] else { throw WorkloadFileError(file, "\(key): expected a mapping") }
        return YAMLMapping(file: "\(file) (\(key))", values: nested)
    }
}
