/// A Kafka UUID (topic ids, directory ids, incarnation ids): 128 bits sent as two big-endian INT64s.
public struct KafkaUUID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    @inlinable
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public static let zero = KafkaUUID(high: 0, low: 0)
    /// Reserved by Kafka for the `__cluster_metadata` topic; never handed out by `random()`.
    public static let metadataTopicId = KafkaUUID(high: 0, low: 1)

    /// A random version-4 UUID, avoiding the reserved ids and ids whose text starts with "-" (as Kafka does, so
    /// ids never look like command-line flags).
    public static func random() -> KafkaUUID {
        var generator = SystemRandomNumberGenerator()
        while true {
            let high = (generator.next() & ~0xF000) | 0x4000  // version 4
            let low = (generator.next() & ~(0xC000 << 48)) | (0x8000 << 48)  // IETF variant
            let candidate = KafkaUUID(high: high, low: low)
            if candidate != .zero, candidate != .metadataTopicId, !candidate.description.hasPrefix("-") {
                return candidate
            }
        }
    }

    public static func < (lhs: KafkaUUID, rhs: KafkaUUID) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    /// Kafka's text form: URL-safe base64 without padding (22 characters).
    public var description: String {
        let bytes = self.bytes + [0, 0]  // pad to a multiple of 3; the extra characters are dropped below
        var text = [UInt8]()
        text.reserveCapacity(24)
        for group in stride(from: 0, to: 18, by: 3) {
            let bits = UInt32(bytes[group]) << 16 | UInt32(bytes[group + 1]) << 8 | UInt32(bytes[group + 2])
            for shift in [18, 12, 6, 0] {
                text.append(Self.alphabet[Int((bits >> UInt32(shift)) & 0x3f)])
            }
        }
        return String(decoding: text.prefix(22), as: UTF8.self)
    }

    /// Parses Kafka's text form (22 URL-safe base64 characters, no padding).
    public init?(string: String) {
        let characters = Array(string.utf8)
        guard characters.count == 22 else { return nil }
        var bits: [UInt8] = []
        bits.reserveCapacity(22)
        for character in characters {
            guard let value = Self.alphabet.firstIndex(of: character) else { return nil }
            bits.append(UInt8(value))
        }
        // 22 sextets = 132 bits; the last 4 must be zero for a canonical 128-bit value.
        guard bits[21] & 0x0f == 0 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, sextet) in bits.enumerated() {
            for bit in stride(from: 5, through: 0, by: -1) {
                let position = index * 6 + (5 - bit)
                guard position < 128 else { break }
                let value = UInt64((sextet >> UInt8(bit)) & 1)
                if position < 64 { high |= value << UInt64(63 - position) } else { low |= value << UInt64(127 - position) }
            }
        }
        self.init(high: high, low: low)
    }
}
