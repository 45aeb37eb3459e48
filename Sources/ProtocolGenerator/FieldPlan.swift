/// How one schema field maps to Swift: property name and type, default, and the versions in which it is encoded
/// inline or in the tagged-field section.
struct FieldPlan {
    let field: FieldSchema
    let context: VersionContext

    var property: String { Naming.identifier(field.name) }
    /// All valid versions carrying the field, inline or tagged.
    var presentVersions: VersionRange { field.versions.intersection(context.valid) }
    var taggedVersions: VersionRange { field.taggedVersions.intersection(presentVersions) }
    var inlineVersions: VersionRange { (try? presentVersions.subtracting(taggedVersions)) ?? .none }

    /// Optional in Swift when null is representable or the default: records are always optional (Kafka's default
    /// for them is null).
    var isOptional: Bool {
        field.type == .records || field.isNullableSomewhere || field.defaultValue == "null"
    }

    var swiftType: String { TypeMapping.swiftType(field.type) + (isOptional ? "?" : "") }

    var defaultExpression: String {
        if isOptional && (field.defaultValue == "null" || field.type == .records) { return "nil" }
        return TypeMapping.defaultExpression(field.type, schemaDefault: field.defaultValue)
    }

    /// Whether strings, bytes and arrays of this field use compact encodings in its inline versions.
    var inlineCompactExpression: String {
        if let override = field.flexibleVersions {
            let overridden = override.intersection(context.flexible)
            if overridden.isEmpty { return "false" }
            return "(flexible && \(context.condition(overridden, within: inlineVersions) ?? "true"))"
        }
        switch context.condition(context.flexible, within: inlineVersions) {
        case nil: return "true"
        case "false": return "false"
        default: return "flexible"
        }
    }

    /// A Swift condition for "null may be written" within `domain`: nil when always, "false" when never.
    func nullableCondition(within domain: VersionRange) -> String? {
        guard isOptional else { return "false" }
        return context.condition(field.nullableVersions, within: domain)
    }
}
