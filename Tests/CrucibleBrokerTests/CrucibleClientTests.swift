import CrucibleClient
import XCTest

final class CrucibleClientTests: XCTestCase {
    /// Vectors from Kafka's `UtilsTest.testMurmur2`, covering every tail length.
    func testMatchesKafkasMurmur2() {
        let cases: [(String, Int32)] = [
            ("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971), ("abc", 479_470_107),
        ]
        for (key, expected) in cases {
            XCTAssertEqual(Murmur2Partitioner.murmur2(Array(key.utf8)), expected, key)
        }
    }

    func testPartitionIsThePositiveHashModuloTheCount() {
        let hash = Murmur2Partitioner.murmur2(Array("foobar".utf8))
        XCTAssertEqual(Murmur2Partitioner.partition(forKey: Array("foobar".utf8), partitionCount: 7),
                       Int32(Int(hash & 0x7fff_ffff) % 7))
    }

    func testBootstrapServersParse() throws {
        let servers = try KafkaClient.parseServers("a:1, b:9092,[::1]:9093")
        XCTAssertEqual(servers.map(\.host), ["a", "b", "::1"])
        XCTAssertEqual(servers.map(\.port), [1, 9092, 9093])
        XCTAssertThrowsError(try KafkaClient.parseServers("nohost"))
        XCTAssertThrowsError(try KafkaClient.parseServers("h:0"))
    }
}
