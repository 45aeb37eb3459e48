/// Kafka's default partitioner for keyed records (Java client, kafka-python, librdkafka's `murmur2_random`):
/// `(murmur2(key) & 0x7fffffff) % partitions`, so the same key lands on the same partition whichever client
/// wrote it.
public enum Murmur2Partitioner {
    public static func partition(forKey key: [UInt8], partitionCount: Int) -> Int32 {
        Int32(Int(murmur2(key) & 0x7fff_ffff) % partitionCount)
    }

    /// Kafka's `Utils.murmur2`: seed 0x9747b28c, 4-byte little-endian chunks, then the tail bytes.
    public static func murmur2(_ data: [UInt8]) -> Int32 {
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: data.count)
        let whole = data.count / 4
        for chunk in 0..<whole {
            let i = chunk * 4
            var k = UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24
            k &*= m
            k ^= k >> r
            k &*= m
            h &*= m
            h ^= k
        }
        let tail = whole * 4
        switch data.count % 4 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            fallthrough
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            fallthrough
        case 1:
            h ^= UInt32(data[tail])
            h &*= m
        default:
            break
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }
}
