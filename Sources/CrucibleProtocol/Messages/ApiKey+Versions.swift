extension ApiKey {
    /// The versions this module can encode and decode (the schema's valid versions).
    public var validVersions: ClosedRange<Int16> { requestType.validVersions }

    public var firstFlexibleVersion: Int16? { requestType.firstFlexibleVersion }

    public func isFlexible(_ apiVersion: Int16) -> Bool {
        guard let first = firstFlexibleVersion else { return false }
        return apiVersion >= first
    }

    /// Request header v2 (tagged fields) for flexible versions, else v1. Versions above the known range count as
    /// flexible, so a newer client's ApiVersions request still parses and can be answered.
    public func requestHeaderVersion(_ apiVersion: Int16) -> Int16 {
        isFlexible(apiVersion) ? 2 : 1
    }

    /// Response header v1 (tagged fields) for flexible versions, else v0. ApiVersions responses always use v0, so
    /// a client that does not yet know the broker's versions can read them (KIP-511).
    public func responseHeaderVersion(_ apiVersion: Int16) -> Int16 {
        if self == .apiVersions { return 0 }
        return isFlexible(apiVersion) ? 1 : 0
    }
}
