/// An open-addressing index of entries kept by its owner, for keys that are already 64-bit hashes or small integer
/// pairs: one multiply picks the slot, where Dictionary would run SipHash over the key at every lookup (most of the
/// cost of numbering a small history's values). A slot holds an entry number + 1; 0 is empty.
struct SlotIndex {
    private var slots = [Int32](repeating: 0, count: 16)
    private var count = 0

    /// The entry whose key has `hash` and `matches`, or nil and the empty slot where it belongs.
    func find(_ hash: UInt64, _ matches: (Int32) -> Bool) -> (entry: Int32?, slot: Int) {
        let mask = slots.count - 1
        var slot = Self.home(hash, mask)
        while true {
            let held = slots[slot]
            if held == 0 { return (nil, slot) }
            if matches(held - 1) { return (held - 1, slot) }
            slot = (slot + 1) & mask
        }
    }

    /// Puts `entry` in the slot `find` gave; at half full the slots double, each entry placed again by `hashOf`.
    mutating func insert(_ entry: Int32, at slot: Int, hashOf: (Int32) -> UInt64) {
        slots[slot] = entry + 1
        count += 1
        guard count * 2 > slots.count else { return }
        let old = slots
        slots = [Int32](repeating: 0, count: old.count * 2)
        let mask = slots.count - 1
        for held in old where held != 0 {
            var at = Self.home(hashOf(held - 1), mask)
            while slots[at] != 0 { at = (at + 1) & mask }
            slots[at] = held
        }
    }

    /// Fibonacci hashing: the product's high bits, which every bit of the key reaches.
    private static func home(_ hash: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }
}
