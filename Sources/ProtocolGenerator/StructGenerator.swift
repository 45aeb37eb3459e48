/// Writes one Swift struct for a schema struct: properties with defaults, the decoding initialiser, `encode`,
/// and (for the message type) its nested structs.
struct StructGenerator {
    let context: VersionContext

    func generate(name: String, conformances: String, fields: [FieldSchema], nested: [StructSchema],
                  into writer: inout CodeWriter, statics: (inout CodeWriter) -> Void = { _ in }) throws {
        let plans = fields.map { FieldPlan(field: $0, context: context) }
        try checkTags(plans, in: name)
        try writer.block("public struct \(name): \(conformances)") { writer in
            statics(&writer)
            for plan in plans {
                if let about = plan.field.about { writer.line("/// \(about)") }
                writer.line("public var \(plan.property): \(plan.swiftType) = \(plan.defaultExpression)")
            }
            if !plans.isEmpty { writer.line() }
            writer.line("public init() {}")
            writer.line()
            writeDecoder(plans, into: &writer)
            writer.line()
            writeEncoder(plans, into: &writer)
            for inner in nested {
                writer.line()
                try generate(name: inner.name, conformances: "Equatable, Sendable", fields: inner.fields, nested: [],
                             into: &writer)
            }
        }
    }

    private func checkTags(_ plans: [FieldPlan], in name: String) throws {
        let tags = plans.filter { !$0.taggedVersions.isEmpty }.compactMap { $0.field.tag }
        if Set(tags).count != tags.count { throw GeneratorError("\(name): duplicate tags \(tags)") }
    }

    private func tagged(_ plans: [FieldPlan]) -> [FieldPlan] {
        plans.filter { !$0.taggedVersions.isEmpty }.sorted { $0.field.tag! < $1.field.tag! }
    }

    /// Emits `statement`, guarded by `condition` unless it always holds; nothing when it never holds.
    private func guarded(_ condition: String?, _ statement: String, into writer: inout CodeWriter) {
        switch condition {
        case nil: writer.line(statement)
        case "false": break
        case let condition?: writer.line("if \(condition) { \(statement) }")
        }
    }

    /// Emits the nullable and non-nullable forms of an access chosen by the version.
    private func byNullability(_ plan: FieldPlan, within domain: VersionRange, into writer: inout CodeWriter,
                               _ statement: (_ nullable: Bool) -> String) {
        switch plan.nullableCondition(within: domain) {
        case nil: writer.line(statement(true))
        case "false": writer.line(statement(false))
        case let condition?:
            writer.line("if \(condition) { \(statement(true)) } else { \(statement(false)) }")
        }
    }

    /// Emits one statement per field in its inline (untagged) versions, in schema order.
    private func writeInlineFields(_ plans: [FieldPlan], into writer: inout CodeWriter,
                                   _ statement: (FieldPlan, _ nullable: Bool) -> String) {
        for plan in plans where !plan.inlineVersions.isEmpty {
            var body = CodeWriter()
            byNullability(plan, within: plan.inlineVersions, into: &body) { statement(plan, $0) }
            for line in body.lines {
                guarded(context.condition(plan.inlineVersions), line, into: &writer)
            }
        }
    }

    private func writeDecoder(_ plans: [FieldPlan], into writer: inout CodeWriter) {
        writer.block("public init(from buffer: inout ByteBuffer, version: Int16) throws") { writer in
            writer.line("self.init()")
            if context.hasFlexibleVersions { writer.line(context.flexibleDeclaration) }
            writeInlineFields(plans, into: &writer) { plan, nullable in
                let read = TypeMapping.readExpression(plan.field.type, from: "buffer",
                                                      compact: plan.inlineCompactExpression, nullable: nullable)
                return "self.\(plan.property) = \(read)"
            }
            guard context.hasFlexibleVersions else { return }
            let taggedPlans = tagged(plans)
            writer.block("if flexible") { writer in
                if taggedPlans.isEmpty {
                    writer.line("try buffer.skipKafkaTaggedFields()")
                    return
                }
                writer.block("for _ in 0..<(try buffer.readUnsignedVarint())") { writer in
                    writer.line("var field = try buffer.readKafkaTaggedField()")
                    writer.block("switch field.tag") { writer in
                        for plan in taggedPlans {
                            let whereClause = context.condition(plan.taggedVersions, within: context.flexible)
                                .map { " where \($0)" } ?? ""
                            writer.caseLabel("case \(plan.field.tag!)\(whereClause):") { writer in
                                byNullability(plan, within: plan.taggedVersions, into: &writer) { nullable in
                                    let read = TypeMapping.readExpression(plan.field.type, from: "field.data",
                                                                          compact: "true", nullable: nullable)
                                    return "self.\(plan.property) = \(read)"
                                }
                            }
                        }
                        writer.caseLabel("default:") { $0.line("break  // unknown tags are skipped") }
                    }
                }
            }
        }
    }

    private func writeEncoder(_ plans: [FieldPlan], into writer: inout CodeWriter) {
        writer.block("public func encode(to encoder: inout KafkaEncoder, version: Int16)") { writer in
            if context.hasFlexibleVersions { writer.line(context.flexibleDeclaration) }
            writeInlineFields(plans, into: &writer) { plan, nullable in
                TypeMapping.writeStatement(plan.field.type, value: "self.\(plan.property)", to: "encoder",
                                           compact: plan.inlineCompactExpression, optional: plan.isOptional,
                                           nullable: nullable)
            }
            guard context.hasFlexibleVersions else { return }
            let taggedPlans = tagged(plans)
            writer.block("if flexible") { writer in
                if taggedPlans.isEmpty {
                    writer.line("encoder.buffer.writeUnsignedVarint(0)  // no tagged fields")
                    return
                }
                // Tagged fields are written only when they differ from their defaults, in tag order.
                for plan in taggedPlans {
                    let version = context.condition(plan.taggedVersions, within: context.flexible)
                    let differs = "self.\(plan.property) != \(plan.defaultExpression)"
                    writer.line("let write\(plan.field.name) = \(version.map { "\($0) && " } ?? "")\(differs)")
                }
                writer.line("var taggedFieldCount: UInt32 = 0")
                for plan in taggedPlans {
                    writer.line("if write\(plan.field.name) { taggedFieldCount += 1 }")
                }
                writer.line("encoder.buffer.writeUnsignedVarint(taggedFieldCount)")
                for plan in taggedPlans {
                    writer.block("if write\(plan.field.name)") { writer in
                        writer.block("encoder.writeTaggedField(tag: \(plan.field.tag!))", parameters: "tagged") { writer in
                            byNullability(plan, within: plan.taggedVersions, into: &writer) { nullable in
                                TypeMapping.writeStatement(plan.field.type, value: "self.\(plan.property)",
                                                           to: "tagged", compact: "true", optional: plan.isOptional,
                                                           nullable: nullable)
                            }
                        }
                    }
                }
            }
        }
    }
}
