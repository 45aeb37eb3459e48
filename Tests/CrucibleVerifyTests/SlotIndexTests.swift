@testable import CrucibleVerify
import XCTest

/// The value table's index: every entry found again through growth and colliding homes, absent keys not found.
final class SlotIndexTests: XCTestCase {
    func testEveryEntryIsFoundAfterGrowthAndCollisions() {
        var index = SlotIndex()
        var keys: [UInt64] = []
        // Multiples of 2^40 share their low bits: many land on the same home before the multiply spreads them.
        for i in 0..<5_000 {
            let key = i % 7 == 0 ? UInt64(i) << 40 : UInt64(i) &* 0x1234_5678_9ABC_DEF1
            let (found, slot) = index.find(key) { keys[Int($0)] == key }
            XCTAssertNil(found, "key \(i) found before it was inserted")
            keys.append(key)
            index.insert(Int32(keys.count - 1), at: slot) { keys[Int($0)] }
        }
        for (entry, key) in keys.enumerated() {
            XCTAssertEqual(index.find(key) { keys[Int($0)] == key }.entry, Int32(entry))
        }
        XCTAssertNil(index.find(42 << 40 | 1) { keys[Int($0)] == 42 << 40 | 1 }.entry)
    }

    func testAppendsAreNumberedByTheirTextWhateverTheRoute() {
        let table = KVValueTable()
        let (x, y, xy) = (table.number("x "), table.number("y "), table.number("x y "))
        XCTAssertEqual(table.append(x, y), xy, "an append's result is the value its text names")
        XCTAssertEqual(table.append(table.number(""), xy), xy)
        XCTAssertNotEqual(table.append(y, x), xy)
        XCTAssertEqual(table.text(xy), "x y ")
        XCTAssertEqual(table.text(table.append(y, x)), "", "a value the history never names has no text")
    }
}
