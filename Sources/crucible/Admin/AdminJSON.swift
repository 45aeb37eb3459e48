import CrucibleClient
import Foundation

/// The JSON files Kafka's admin tools read (`--offset-json-file`, `--path-to-json-file`,
/// `--reassignment-json-file`, `--topics-to-move-json-file`), with each problem reported as bad usage naming
/// the flag and file.
struct AdminJSONFile {
    let flag: String
    let path: String
    let root: [String: Any]

    init(flag: String, path: String) throws {
        self.flag = flag
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageError("\(flag) \(path): cannot read the file")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let root = object as? [String: Any] else {
            throw UsageError("\(flag) \(path): not a JSON object")
        }
        self.root = root
    }

    func fail(_ why: String) -> UsageError { UsageError("\(flag) \(path): \(why)") }

    /// The array under `key`, each element an object.
    func objects(_ key: String) throws -> [[String: Any]] {
        guard let list = root[key] as? [Any] else { throw fail("expected an array \"\(key)\"") }
        return try list.map { element in
            guard let object = element as? [String: Any] else { throw fail("each entry of \"\(key)\" must be an object") }
            return object
        }
    }

    func string(_ object: [String: Any], _ key: String) throws -> String {
        guard let value = object[key] as? String else { throw fail("an entry lacks the string \"\(key)\"") }
        return value
    }

    func int(_ object: [String: Any], _ key: String) throws -> Int64 {
        guard let value = Self.integer(object[key]) else { throw fail("an entry lacks the integer \"\(key)\"") }
        return value
    }

    /// JSONSerialization gives Int on Linux and NSNumber elsewhere; booleans and fractions are not integers.
    static func integer(_ value: Any?) -> Int64? {
        // Foundation on Linux answers `is Bool` for the numbers 0 and 1 too: ask for the boolean type itself.
        guard let value, type(of: value) != Bool.self, String(describing: type(of: value)) != "__NSCFBoolean" else {
            return nil
        }
        if let int = value as? Int { return Int64(int) }
        if let double = value as? Double { return Int64(exactly: double) }
        return nil
    }

    func ints(_ object: [String: Any], _ key: String) throws -> [Int32] {
        guard let list = object[key] as? [Any] else { throw fail("an entry lacks the array \"\(key)\"") }
        return try list.map { element in
            guard let value = Self.integer(element).flatMap({ Int32(exactly: $0) }) else {
                throw fail("\"\(key)\" must hold broker ids")
            }
            return value
        }
    }

    /// `{"partitions": [{"topic": T, "partition": P, ...}]}` entries, refusing a partition named twice.
    func partitions() throws -> [(TopicPartition, [String: Any])] {
        var seen = Set<TopicPartition>()
        return try objects("partitions").map { entry in
            let partition = TopicPartition(try string(entry, "topic"), Int32(clamping: try int(entry, "partition")))
            guard seen.insert(partition).inserted else { throw fail("partition \(partition) appears more than once") }
            return (partition, entry)
        }
    }
}

/// Kafka's compact JSON, written by hand so the keys come in Kafka's order.
enum AdminJSON {
    static func string(_ text: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }

    static func ints(_ values: [Int32]) -> String { "[" + values.map(String.init).joined(separator: ",") + "]" }

    /// `{"version":1,"partitions":[{"topic":T,"partition":P,"replicas":[...],"log_dirs":["any",...]}]}`
    static func assignment(_ partitions: [(TopicPartition, [Int32])]) -> String {
        let entries = partitions.sorted { $0.0 < $1.0 }.map { partition, replicas in
            "{\"topic\":\(string(partition.topic)),\"partition\":\(partition.partition),\"replicas\":\(ints(replicas)),"
                + "\"log_dirs\":[\(replicas.map { _ in "\"any\"" }.joined(separator: ","))]}"
        }
        return "{\"version\":1,\"partitions\":[" + entries.joined(separator: ",") + "]}"
    }
}
