import NIOCore

extension ByteBuffer {
    /// A buffer from a mix of raw bytes and ASCII text, for writing golden frames readably.
    init(_ pieces: [BytePiece]) {
        self.init()
        for piece in pieces {
            switch piece {
            case .bytes(let bytes): writeBytes(bytes)
            case .text(let text): writeString(text)
            }
        }
    }

    var bytes: [UInt8] { Array(readableBytesView) }
}

enum BytePiece: ExpressibleByStringLiteral, ExpressibleByArrayLiteral {
    case bytes([UInt8])
    case text(String)

    init(stringLiteral value: String) { self = .text(value) }
    init(arrayLiteral elements: UInt8...) { self = .bytes(elements) }
}
