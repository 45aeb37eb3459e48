import Foundation

/// One entry of `listeners` / `advertised.listeners`: `NAME://host:port`.
public struct Listener: Equatable, Sendable {
    public var name: String
    public var host: String
    public var port: Int

    public init(name: String, host: String, port: Int) {
        self.name = name
        self.host = host
        self.port = port
    }

    public static func parseList(_ text: String, key: String) throws -> [Listener] {
        try text.split(separator: ",").map { try parse(String($0).trimmingSpaces, key: key) }
    }

    static func parse(_ text: String, key: String) throws -> Listener {
        guard let range = text.range(of: "://") else {
            throw ConfigError(key: key, "'\(text)' is not of the form NAME://host:port")
        }
        let name = String(text[..<range.lowerBound]).uppercased()
        let address = String(text[range.upperBound...])
        let host: String
        let portText: Substring
        if address.hasPrefix("[") {
            // IPv6 literal: [::1]:9092
            guard let close = address.firstIndex(of: "]") else { throw ConfigError(key: key, "unclosed '[' in '\(text)'") }
            host = String(address[address.index(after: address.startIndex)..<close])
            portText = address[address.index(after: close)...].dropFirst()
        } else {
            guard let colon = address.lastIndex(of: ":") else { throw ConfigError(key: key, "'\(text)' has no port") }
            host = String(address[..<colon])
            portText = address[address.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw ConfigError(key: key, "'\(portText)' in '\(text)' is not a port")
        }
        guard !name.isEmpty else { throw ConfigError(key: key, "'\(text)' has no listener name") }
        return Listener(name: name, host: host, port: port)
    }
}
