import NIOCore

extension RequestHeader {
    /// Reads a request header, choosing its version from the api key and version it starts with: v2 for flexible
    /// versions of a known API, v1 otherwise (also for api keys this broker does not know, so it can still answer
    /// with the correlation id).
    public static func decode(from buffer: inout ByteBuffer) throws -> RequestHeader {
        guard let apiKeyValue = buffer.getInteger(at: buffer.readerIndex, as: Int16.self),
              let apiVersion = buffer.getInteger(at: buffer.readerIndex + 2, as: Int16.self) else {
            throw KafkaProtocolError.truncated("request api key and version", needed: 4,
                                               available: buffer.readableBytes)
        }
        let headerVersion = ApiKey(rawValue: apiKeyValue)?.requestHeaderVersion(apiVersion) ?? 1
        return try RequestHeader(from: &buffer, version: headerVersion)
    }

    /// The API this header names, if this broker knows it.
    public var apiKey: ApiKey? { ApiKey(rawValue: requestApiKey) }
}

extension ResponseHeader {
    /// Writes the response header for a response to `apiKey` at `apiVersion`.
    public static func write(correlationId: Int32, apiKey: ApiKey, apiVersion: Int16, to encoder: inout KafkaEncoder) {
        var header = ResponseHeader()
        header.correlationId = correlationId
        header.encode(to: &encoder, version: apiKey.responseHeaderVersion(apiVersion))
    }
}

extension KafkaResponse {
    /// A complete size-delimited response frame: size, response header, body.
    public func encodeFrame(correlationId: Int32, version: Int16,
                            allocator: ByteBufferAllocator = .init()) -> [IOData] {
        var encoder = KafkaEncoder(allocator: allocator)
        ResponseHeader.write(correlationId: correlationId, apiKey: Self.apiKey, apiVersion: version, to: &encoder)
        encode(to: &encoder, version: version)
        return encoder.finishFrame()
    }
}

extension KafkaRequest {
    /// A complete size-delimited request frame: size, request header, body.
    public func encodeFrame(correlationId: Int32, clientId: String?, version: Int16,
                            allocator: ByteBufferAllocator = .init()) -> [IOData] {
        var header = RequestHeader()
        header.requestApiKey = Self.apiKey.rawValue
        header.requestApiVersion = version
        header.correlationId = correlationId
        header.clientId = clientId
        var encoder = KafkaEncoder(allocator: allocator)
        header.encode(to: &encoder, version: Self.apiKey.requestHeaderVersion(version))
        encode(to: &encoder, version: version)
        return encoder.finishFrame()
    }
}
