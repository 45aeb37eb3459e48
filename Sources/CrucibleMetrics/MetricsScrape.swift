import Foundation

/// One sample of Prometheus' text format: `name{label="value",...} value`.
public struct PrometheusSample: Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    public var value: Double

    public init(name: String, labels: [String: String], value: Double) {
        self.name = name
        self.labels = labels
        self.value = value
    }
}

/// Reading another process's `/metrics`: an HTTP GET, and the text format parsed (comments skipped; a line that
/// does not parse is left out rather than failing the scrape).
public enum MetricsScrape {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The body of `GET url` (`http://host:port/path` only), within `timeoutSeconds`.
    public static func fetch(_ url: String, timeoutSeconds: Double = 5) throws -> String {
        guard let parsed = URL(string: url), parsed.scheme == "http", let host = parsed.host else {
            throw Failure(description: "\(url): expected http://host:port/path")
        }
        let port = parsed.port ?? 80
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let address = found else {
            throw Failure(description: "\(url): cannot resolve \(host)")
        }
        defer { freeaddrinfo(found) }
        let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
        guard fd >= 0 else { throw Failure(description: "\(url): no socket") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: Int(timeoutSeconds), tv_usec: Int((timeoutSeconds - timeoutSeconds.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            throw Failure(description: "\(url): \(String(cString: strerror(errno)))")
        }
        let path = parsed.path.isEmpty ? "/" : parsed.path
        let request = Array("GET \(path) HTTP/1.0\r\nHost: \(host):\(port)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            throw Failure(description: "\(url): the request could not be sent")
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let got = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if got < 0 { throw Failure(description: "\(url): \(String(cString: strerror(errno)))") }
            if got == 0 { break }
            response += chunk[0..<got]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw Failure(description: "\(url): no HTTP response") }
        let status = text[..<split.lowerBound].split(separator: " ", maxSplits: 2)
        guard status.count >= 2, status[1] == "200" else {
            throw Failure(description: "\(url): HTTP \(status.dropFirst().first.map(String.init) ?? "?")")
        }
        return String(text[split.upperBound...])
    }

    public static func parse(_ text: String) -> [PrometheusSample] {
        text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#") else { return nil }
            var labels: [String: String] = [:]
            var name: Substring, rest: Substring
            if let open = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}") {
                name = line[..<open]
                rest = line[line.index(after: close)...]
                for pair in splitLabels(line[line.index(after: open)..<close]) {
                    guard let equals = pair.firstIndex(of: "=") else { continue }
                    labels[String(pair[..<equals])] = String(pair[pair.index(after: equals)...].dropFirst().dropLast())
                        .replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
                }
            } else {
                guard let space = line.firstIndex(of: " ") else { return nil }
                name = line[..<space]
                rest = line[space...]
            }
            guard let valueText = rest.split(separator: " ").first, let value = Double(valueText) else { return nil }
            return PrometheusSample(name: String(name), labels: labels, value: value)
        }
    }

    /// `a="x",b="y,z"`: commas inside quotes stay.
    private static func splitLabels(_ text: Substring) -> [Substring] {
        var pairs: [Substring] = [], start = text.startIndex, quoted = false, escaped = false
        for index in text.indices {
            let character = text[index]
            if escaped { escaped = false; continue }
            if character == "\\" { escaped = true } else if character == "\"" { quoted.toggle() }
            else if character == "," && !quoted { pairs.append(text[start..<index]); start = text.index(after: index) }
        }
        if start < text.endIndex { pairs.append(text[start...]) }
        return pairs
    }
}
