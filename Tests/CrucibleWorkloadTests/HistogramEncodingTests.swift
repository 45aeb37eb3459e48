// HdrHistogram's V2 compressed encoding: round trips, known answers from other implementations, refusals.
@testable import CrucibleWorkload
import Foundation
import Histogram
import XCTest

/// SplitMix64, so every run draws the same values.
struct HistogramTestRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Values spread log-uniformly over 0...highest, with zeros and repeats, so the counts have long zero runs,
/// isolated zeros and counts large enough for multi-byte LEB128.
func wideHistogram(seed: UInt64, highest: UInt64 = 3_600_000_000, lowest: UInt64 = 1,
                   digits: SignificantDigits = .three, samples: Int = 5000) -> Histogram<UInt64> {
    var rng = HistogramTestRandom(state: seed)
    var h = Histogram<UInt64>(lowestDiscernibleValue: lowest, highestTrackableValue: highest,
                              numberOfSignificantValueDigits: digits)
    let top = Double(highest).squareRoot().squareRoot()
    for _ in 0 ..< samples {
        var value = Swift.min(UInt64(pow(Double.random(in: 0 ... top, using: &rng), 4)), highest)
        // Below the lowest discernible value a histogram remembers the smallest non-zero value it saw, which no
        // encoding carries (Java's neither): record those as 0 so a round trip can be compared with ==.
        if value < lowest { value = 0 }
        h.record(value, count: UInt64.random(in: 1 ... 3, using: &rng))
    }
    h.record(0, count: 7)
    h.record(highest, count: 300)
    return h
}

final class HistogramEncodingTests: XCTestCase {
    func testRoundTripOverAWideRangeKeepsEveryCount() throws {
        let cases: [(lowest: UInt64, highest: UInt64, digits: SignificantDigits)] = [
            (1, 3_600_000_000, .three), (1, 60_000_000, .two), (1000, 3_600_000_000_000, .three),
            (1, 43_200_000_000, .four), (1, 1_000_000, .zero), (1, 1 << 44, .five),
        ]
        for (seed, c) in cases.enumerated() {
            let h = wideHistogram(seed: UInt64(seed), highest: c.highest, lowest: c.lowest, digits: c.digits)
            let back = try HistogramEncoding.decodeCompressed(HistogramEncoding.encodeCompressed(h))
            XCTAssertEqual(back, h, "case \(c)") // Histogram's == compares every count, min, max and total
            XCTAssertEqual(back.totalCount, h.totalCount)
            XCTAssertEqual(back.max, h.max)
            XCTAssertEqual(back.highestTrackableValue, h.highestTrackableValue)
            XCTAssertEqual(back.lowestDiscernibleValue, h.lowestDiscernibleValue)
            XCTAssertEqual(back.numberOfSignificantValueDigits, h.numberOfSignificantValueDigits)
            // Percentile walks over millions of 4- and 5-digit counts take seconds in a debug build; == covers those.
            guard c.digits.rawValue <= 3 else { continue }
            for p in [50.0, 90, 99, 99.9, 99.99] {
                XCTAssertEqual(LatencySummary.valueAtPercentile(back, p), LatencySummary.valueAtPercentile(h, p))
            }
        }
    }

    func testAutoResizingAndEmptyHistogramsRoundTrip() throws {
        var grown = Histogram<UInt64>()
        for v: UInt64 in [0, 1, 5, 1_000_000, 123_456_789_012] { grown.record(v) }
        XCTAssertEqual(try HistogramEncoding.decodeCompressed(HistogramEncoding.encodeCompressed(grown)), grown)

        let empty = Histogram<UInt64>(highestTrackableValue: 1000)
        let back = try HistogramEncoding.decodeCompressed(HistogramEncoding.encodeCompressed(empty))
        XCTAssertEqual(back.totalCount, 0)
        XCTAssertEqual(back, empty)
    }

    func testEveryIndexOfTheLayoutMatchesJavaArithmetic() {
        // Decoding relies on this file's own index→value mapping agreeing with hdrhistogram-swift's, index by index.
        let h = Histogram<UInt64>(lowestDiscernibleValue: 8, highestTrackableValue: 1 << 40,
                                  numberOfSignificantValueDigits: .two)
        let layout = CountsLayout(lowestDiscernibleValue: 8, significantDigits: 2)
        var index = 0
        for step in h.allValues() {
            XCTAssertEqual(h.lowestEquivalentForValue(step.value), layout.lowestValue(atIndex: index), "index \(index)")
            index += 1
        }
        XCTAssertEqual(index, layout.countsLength(highestTrackableValue: 1 << 40), "one step per counts index")
    }

    func testSingleValueKnownAnswer() throws {
        var h = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        h.record(1)
        let plain = HistogramEncoding.encode(h)
        let expected: [UInt8] = [
            0x1c, 0x84, 0x93, 0x13, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, // cookie, counts length, offset, digits
            0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xd6, 0x93, 0xa4, 0x00, // lowest 1, highest 3.6e9
            0x3f, 0xf0, 0, 0, 0, 0, 0, 0, // ratio 1.0
            0x00, 0x02, // index 0: a lone zero written as 0; index 1: count 1 zig-zagged to 2
        ]
        XCTAssertEqual(plain, expected)
        let base64 = Data(HistogramEncoding.encodeCompressed(h)).base64EncodedString()
        XCTAssertTrue(base64.hasPrefix("HISTFAAA"), base64)
        // zlib's RFC 1950 header at default level (0x78 0x9c) follows the two header words.
        XCTAssertEqual(Array(HistogramEncoding.encodeCompressed(h)[8 ..< 10]), [0x78, 0x9c])
    }

    func testZeroRunIsOneNegativeNumber() {
        var h = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        h.record(1000, count: 300)
        // 1000 zeros → -1000 → zig-zag 1999 → LEB128 CF 0F; then 300 → 600 → D8 04.
        XCTAssertEqual(Array(HistogramEncoding.encode(h).suffix(4)), [0xcf, 0x0f, 0xd8, 0x04])
    }

    func testZigZagExtremesUseAtMostNineBytes() throws {
        for value: Int64 in [0, 1, -1, 63, -64, 64, 1 << 55, -(1 << 56), .max, .min] {
            var bytes: [UInt8] = []
            ZigZag.append(value, to: &bytes)
            XCTAssertLessThanOrEqual(bytes.count, 9)
            var reader = ByteReader(bytes)
            XCTAssertEqual(ZigZag.read(&reader, end: bytes.count), value)
            XCTAssertEqual(reader.remaining, 0)
        }
        var bytes: [UInt8] = []
        ZigZag.append(.min, to: &bytes)
        XCTAssertEqual(bytes.count, 9)
    }

    func testValuesNearTheTopOfTheRangeRoundTrip() throws {
        // hdrhistogram-swift's iterators (and so `mean`) trap here, summing value x count past UInt64.max; the
        // encoding must not depend on them.
        var h = Histogram<UInt64>(highestTrackableValue: 1 << 62, numberOfSignificantValueDigits: .two)
        h.record(1 << 61, count: 300)
        h.record(3)
        XCTAssertEqual(try HistogramEncoding.decodeCompressed(HistogramEncoding.encodeCompressed(h)), h)
    }

    func testDecodesPayloadsWrittenByOtherImplementations() throws {
        // From HdrHistogram-js's tests (zlib level 9, an auto-resizing histogram: range 1...2): one value of 42.
        let js = try decodeBase64(Self.jsFortyTwo)
        XCTAssertEqual(js.totalCount, 1)
        XCTAssertEqual(js.mean, 42)
        XCTAssertEqual(js.max, 42)
        XCTAssertEqual(js.highestTrackableValue, 2)
        // From HdrHistogram-go's tests: an empty 20...1000, 3 digits, with no counts at all.
        let empty = try decodeBase64("HISTFAAAABl4nJNpmSzMgADMUFoEyn1h/wHCAgBDogN4")
        XCTAssertEqual(empty.lowestDiscernibleValue, 20)
        XCTAssertEqual(empty.highestTrackableValue, 1000)
        XCTAssertEqual(empty.numberOfSignificantValueDigits, .three)
        XCTAssertEqual(empty.totalCount, 0)
    }

    func testReEncodingTheirPayloadGivesTheSameUncompressedBytes() throws {
        // The zlib level differs (9 there, 6 here, as Java's default), so compare what was compressed.
        let theirs = [UInt8](try XCTUnwrap(Data(base64Encoded: Self.jsFortyTwo)))
        let inflated = try Zlib.decompress(Array(theirs.dropFirst(8)), outputBytesMax: 1 << 20)
        XCTAssertEqual(HistogramEncoding.encode(try decodeBase64(Self.jsFortyTwo)), inflated)
        XCTAssertEqual(Array(inflated.suffix(2)), [0x53, 0x02], "42 zeros as one run, then a count of 1")
    }

    private static let jsFortyTwo = "HISTFAAAAB542pNpmSzMwMDAxAABzFCaEUoz2X+AMIKZAEARAtM="

    func testDamagedPayloadsAreRefused() {
        var h = Histogram<UInt64>(highestTrackableValue: 1_000_000)
        h.record(12345)
        let good = HistogramEncoding.encodeCompressed(h)
        var badCookie = good
        badCookie[3] = 0x15
        XCTAssertThrowsError(try HistogramEncoding.decodeCompressed(badCookie))
        XCTAssertThrowsError(try HistogramEncoding.decodeCompressed(Array(good.prefix(good.count - 3))))
        var badLength = good
        badLength[7] = 0xff
        XCTAssertThrowsError(try HistogramEncoding.decodeCompressed(badLength))
        XCTAssertThrowsError(try HistogramEncoding.decodeCompressed([0x1c, 0x84]))
        // Counts past the end of the value range the header declares.
        var plain = HistogramEncoding.encode(h)
        plain[23] = 0xff // lowest discernible value 255 → the recorded index no longer fits
        plain.replaceSubrange(24 ..< 32, with: [0, 0, 0, 0, 0, 0, 0x03, 0xe8]) // highest 1000
        XCTAssertThrowsError(try HistogramEncoding.decode(plain))
        var badDigits = HistogramEncoding.encode(h)
        badDigits[15] = 6
        XCTAssertThrowsError(try HistogramEncoding.decode(badDigits))
    }

    private func decodeBase64(_ text: String) throws -> Histogram<UInt64> {
        try HistogramEncoding.decodeCompressed([UInt8](try XCTUnwrap(Data(base64Encoded: text))))
    }
}
