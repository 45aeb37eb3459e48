/// Test support: for each message, `static func sample(version:allVersions:)` that fills every field present in
/// that version (or, with `allVersions`, every field of any version) with a non-default value (non-empty arrays,
/// tagged fields set), so round-trip tests exercise every field.
struct SampleGenerator {
    let schema: MessageSchema

    func generate() throws -> String {
        var writer = MessageFileGenerator.fileHeader(
            for: schema, imports: ["import NIOCore", "@testable import CrucibleProtocol"])
        let context = VersionContext(valid: schema.validVersions, flexible: schema.flexibleVersions)
        writeSample(typeName: schema.name, conformance: ": SampleProviding", fields: schema.fields,
                    context: context, into: &writer)
        for nested in try schema.nestedStructs() {
            writer.line()
            writeSample(typeName: "\(schema.name).\(nested.name)", conformance: "", fields: nested.fields,
                        context: context, into: &writer)
        }
        return writer.text
    }

    private func writeSample(typeName: String, conformance: String, fields: [FieldSchema], context: VersionContext,
                             into writer: inout CodeWriter) {
        writer.block("extension \(typeName)\(conformance)") { writer in
            writer.block("static func sample(version: Int16, allVersions: Bool = false) -> \(typeName)") { writer in
                writer.line("\(fields.isEmpty ? "let" : "var") value = \(typeName)()")
                for (index, field) in fields.enumerated() {
                    let plan = FieldPlan(field: field, context: context)
                    let value = sampleValue(field.type, seed: index + 1, schemaDefault: field.defaultValue)
                    let assignment = "value.\(plan.property) = \(value)"
                    switch context.condition(plan.presentVersions) {
                    case nil: writer.line(assignment)
                    case "false": break
                    case let condition?: writer.line("if allVersions || \(condition) { \(assignment) }")
                    }
                }
                writer.line("return value")
            }
        }
    }

    /// A value of `type` different from the schema default, varied by `seed` so fields differ from each other.
    func sampleValue(_ type: FieldType, seed: Int, schemaDefault: String?) -> String {
        let defaultInteger = schemaDefault.flatMap(TypeMapping.integerLiteral)
        switch type {
        case .int8, .int16, .int32, .int64, .uint16, .uint32:
            let value = 10 + seed
            return "\(value == defaultInteger ? value + 1 : value)"
        case .float64: return "\(seed).5"
        case .bool: return schemaDefault?.lowercased() == "true" ? "false" : "true"
        case .string: return Naming.stringLiteral("s\(seed)")
        case .bytes: return "ByteBuffer(bytes: [\(seed), 1, 2])"
        case .records: return "KafkaRecords(ByteBuffer(bytes: [0xca, 0xfe, \(seed)]))"
        case .uuid: return "KafkaUUID(high: \(seed), low: 0x1234_5678)"
        case .array(let element):
            let first = sampleValue(element, seed: seed, schemaDefault: nil)
            let second = sampleValue(element, seed: seed + 1, schemaDefault: nil)
            return "[\(first), \(second)]"
        case .structure(let name): return "\(schema.name).\(name).sample(version: version, allVersions: allVersions)"
        }
    }

    /// One XCTest method per message, so test counts and failures name the message.
    static func roundTripTestsFile(_ names: [String]) -> String {
        var writer = CodeWriter()
        writer.line(IndexGenerators.provenance)
        writer.line()
        writer.line("import XCTest")
        writer.line("@testable import CrucibleProtocol")
        writer.line()
        writer.block("final class GeneratedRoundTripTests: XCTestCase") { writer in
            for (index, name) in names.enumerated() {
                if index > 0 { writer.line() }
                writer.block("func test\(name)() throws") { writer in
                    writer.line("try assertRoundTripsInEveryVersion(\(name).self)")
                }
            }
        }
        return writer.text
    }
}
