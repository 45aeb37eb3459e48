/// The versions a piece of generated code runs under, used to turn version ranges into Swift conditions on the
/// `version` parameter that are as short as the context allows.
struct VersionContext {
    /// The message's valid versions; nested structs are decoded at the message's version.
    let valid: VersionRange
    /// The message's flexible versions (within `valid`).
    let flexible: VersionRange

    var hasFlexibleVersions: Bool { !flexible.isEmpty }

    /// A Swift condition true exactly for the versions of `range` within `domain`: nil when it holds for all of
    /// `domain`, "false" when for none.
    func condition(_ range: VersionRange, within domain: VersionRange? = nil) -> String? {
        let domain = domain ?? valid
        let inside = range.intersection(domain)
        if inside.isEmpty { return "false" }
        if inside == domain { return nil }
        if inside.high == domain.high { return "version >= \(inside.low)" }
        if inside.low == domain.low { return "version <= \(inside.high)" }
        if inside.low == inside.high { return "version == \(inside.low)" }
        return "version >= \(inside.low) && version <= \(inside.high)"
    }

    /// The `let flexible = ...` initialiser.
    var flexibleDeclaration: String {
        "let flexible = \(condition(flexible) ?? "true")"
    }
}
