// Placeholder, replaced below.
public enum HTMLView {
    public static func render(_ report: CheckReport) -> String { "" }
}
