import Foundation

/// An inclusive range of protocol versions as written in schemas: "3+", "0-7", "5" or "none".
struct VersionRange: Equatable {
    static let unbounded = Int(Int16.max)
    static let none = VersionRange(low: 1, high: 0)

    var low: Int
    var high: Int

    init(low: Int, high: Int) {
        self.low = low
        self.high = high
    }

    init(parsing text: String) throws {
        let text = text.trimmingCharacters(in: .whitespaces)
        if text == "none" {
            self = .none
        } else if text.hasSuffix("+"), let low = Int(text.dropLast()) {
            self.init(low: low, high: Self.unbounded)
        } else if let dash = text.firstIndex(of: "-"), let low = Int(text[..<dash]),
                  let high = Int(text[text.index(after: dash)...]) {
            self.init(low: low, high: high)
        } else if let single = Int(text) {
            self.init(low: single, high: single)
        } else {
            throw GeneratorError("bad version range '\(text)'")
        }
    }

    var isEmpty: Bool { low > high }

    func intersection(_ other: VersionRange) -> VersionRange {
        VersionRange(low: max(low, other.low), high: min(high, other.high))
    }

    /// The versions of `self` outside `other`, where `other` covers a prefix or suffix of `self` (the only shapes
    /// schemas use for tagged versions).
    func subtracting(_ other: VersionRange) throws -> VersionRange {
        let overlap = intersection(other)
        if overlap.isEmpty { return self }
        if overlap == self { return .none }
        if overlap.low == low { return VersionRange(low: overlap.high + 1, high: high) }
        if overlap.high == high { return VersionRange(low: low, high: overlap.low - 1) }
        throw GeneratorError("cannot split version range \(self) around \(other)")
    }
}

indirect enum FieldType: Equatable {
    case int8, int16, int32, int64, uint16, uint32, float64, bool, string, bytes, records, uuid
    case array(FieldType)
    case structure(String)

    init(parsing text: String) throws {
        if text.hasPrefix("[]") {
            self = .array(try FieldType(parsing: String(text.dropFirst(2))))
            return
        }
        switch text {
        case "int8": self = .int8
        case "int16": self = .int16
        case "int32": self = .int32
        case "int64": self = .int64
        case "uint16": self = .uint16
        case "uint32": self = .uint32
        case "float64": self = .float64
        case "bool": self = .bool
        case "string": self = .string
        case "bytes": self = .bytes
        case "records": self = .records
        case "uuid": self = .uuid
        default:
            guard let first = text.first, first.isUppercase else { throw GeneratorError("unknown type '\(text)'") }
            self = .structure(text)
        }
    }

    var structName: String? {
        switch self {
        case .structure(let name): return name
        case .array(let element): return element.structName
        default: return nil
        }
    }
}

final class FieldSchema {
    let name: String
    let type: FieldType
    let versions: VersionRange
    let nullableVersions: VersionRange
    let taggedVersions: VersionRange
    let tag: Int?
    let defaultValue: String?
    /// Per-field override of the message's flexible versions (RequestHeader's ClientId says "none").
    let flexibleVersions: VersionRange?
    /// Inline struct definition, when the type names a struct defined here.
    let fields: [FieldSchema]?
    let about: String?

    init(json: [String: Any]) throws {
        guard let name = json["name"] as? String, let type = json["type"] as? String,
              let versions = json["versions"] as? String else {
            throw GeneratorError("field without name, type or versions: \(json)")
        }
        self.name = name
        self.type = try FieldType(parsing: type)
        self.versions = try VersionRange(parsing: versions)
        self.nullableVersions = try (json["nullableVersions"] as? String).map(VersionRange.init(parsing:)) ?? .none
        self.taggedVersions = try (json["taggedVersions"] as? String).map(VersionRange.init(parsing:)) ?? .none
        self.tag = (json["tag"] as? NSNumber)?.intValue ?? (json["tag"] as? String).flatMap { Int($0) }  // some schemas quote it
        self.defaultValue = json["default"].map { "\($0)" }
        self.flexibleVersions = try (json["flexibleVersions"] as? String).map(VersionRange.init(parsing:))
        self.fields = try (json["fields"] as? [[String: Any]])?.map(FieldSchema.init(json:))
        self.about = (json["about"] as? String).map { $0.split(whereSeparator: \.isNewline).joined(separator: " ") }
        if !taggedVersions.isEmpty && tag == nil { throw GeneratorError("tagged field \(name) without a tag") }
    }

    var isNullableSomewhere: Bool { !nullableVersions.intersection(versions).isEmpty }
}

struct StructSchema {
    let name: String
    let fields: [FieldSchema]
}

struct MessageSchema {
    let fileName: String
    let licenseHeader: [String]
    let type: String
    let name: String
    let apiKey: Int?
    let validVersions: VersionRange
    let flexibleVersions: VersionRange
    let fields: [FieldSchema]
    let commonStructs: [StructSchema]

    init(fileName: String, text: String) throws {
        self.fileName = fileName
        let lines = text.components(separatedBy: "\n")
        self.licenseHeader = Array(lines.prefix { $0.hasPrefix("//") })
        // Only whole-line comments occur; a `//` inside a line may be part of a string (URLs in "about").
        let json = lines.filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("//") }.joined(separator: "\n")
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let type = object["type"] as? String, let name = object["name"] as? String,
              let valid = object["validVersions"] as? String else {
            throw GeneratorError("\(fileName): not a message schema")
        }
        self.type = type
        self.name = name
        self.apiKey = (object["apiKey"] as? NSNumber)?.intValue
        self.validVersions = try VersionRange(parsing: valid)
        self.flexibleVersions = try VersionRange(parsing: object["flexibleVersions"] as? String ?? "none")
            .intersection(validVersions)
        self.fields = try (object["fields"] as? [[String: Any]] ?? []).map(FieldSchema.init(json:))
        self.commonStructs = try (object["commonStructs"] as? [[String: Any]] ?? []).map { json in
            guard let name = json["name"] as? String, let fields = json["fields"] as? [[String: Any]] else {
                throw GeneratorError("\(fileName): common struct without name or fields")
            }
            return StructSchema(name: name, fields: try fields.map(FieldSchema.init(json:)))
        }
    }

    /// Every struct type the message uses, once each: inline definitions in the order they appear, then common
    /// structs. A field may name a struct defined elsewhere in the file without repeating its fields.
    func nestedStructs() throws -> [StructSchema] {
        var result: [StructSchema] = []
        var seen = Set<String>()
        func collect(_ fields: [FieldSchema]) {
            for field in fields {
                if let name = field.type.structName, let inner = field.fields, !seen.contains(name) {
                    seen.insert(name)
                    result.append(StructSchema(name: name, fields: inner))
                }
                if let inner = field.fields { collect(inner) }
            }
        }
        collect(fields)
        for common in commonStructs where !seen.contains(common.name) {
            seen.insert(common.name)
            result.append(common)
            collect(common.fields)
        }
        func checkReferences(_ fields: [FieldSchema]) throws {
            for field in fields {
                if let name = field.type.structName, !seen.contains(name) {
                    throw GeneratorError("\(fileName): struct \(name) is used but never defined")
                }
            }
        }
        try checkReferences(fields)
        for nested in result { try checkReferences(nested.fields) }
        return result
    }
}

struct GeneratorError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
