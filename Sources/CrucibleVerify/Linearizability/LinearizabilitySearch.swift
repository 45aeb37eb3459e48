// Wing & Gong's search with Lowe's just-in-time refinement and memoisation, as Porcupine does it:
// walk the history's call/return events in order; at a call, try to linearize that operation now
// (if the model allows its output from the current state, and this (set of linearized operations,
// state) pair is new); at a return whose call is not yet linearized, backtrack. The memo makes the
// search forget nothing it has already ruled out, which is what keeps real histories tractable.

/// How much work one check may do before it answers "unknown" rather than guess.
public struct SearchBudget: Sendable {
    /// Search steps per partition (nil: unlimited).
    public var maxSteps: Int?
    /// Wall-clock limit for the whole check (nil: unlimited).
    public var timeLimit: Duration?
    /// Memo entries per partition: a guard on memory, since the memo is what grows.
    public var maxMemoEntries: Int
    /// Search every key, reporting every failing one, rather than stopping at the first (`check --all-keys`).
    public var allKeys: Bool

    public init(maxSteps: Int? = nil, timeLimit: Duration? = nil, maxMemoEntries: Int = 20_000_000, allKeys: Bool = false) {
        self.maxSteps = maxSteps
        self.timeLimit = timeLimit
        self.maxMemoEntries = maxMemoEntries
        self.allKeys = allKeys
    }
}

public enum PartitionOutcome: Sendable {
    case linearizable
    /// `longestPrefix`: positions (into the partition's operations) of the longest linearization found;
    /// `blocking`: the operation whose completion the search could never get past from there.
    case notLinearizable(longestPrefix: [Int], blocking: Int?, steps: Int)
    case unknown(steps: Int)
}

/// A set of operation numbers, hashable for the memo. Its hash is kept as members come and go (the XOR of each
/// member's scrambled number, Zobrist's way), so a memo lookup hashes one word, not the whole set.
struct Bitset: Hashable {
    private var words: [UInt64]
    private var mix: UInt64 = 0

    init(count: Int) { words = Array(repeating: 0, count: (count + 63) / 64) }

    mutating func insert(_ i: Int) {
        let bit: UInt64 = 1 << UInt64(i & 63)
        guard words[i >> 6] & bit == 0 else { return }
        words[i >> 6] |= bit
        mix ^= Self.scramble(i)
    }

    mutating func remove(_ i: Int) {
        let bit: UInt64 = 1 << UInt64(i & 63)
        guard words[i >> 6] & bit != 0 else { return }
        words[i >> 6] &= ~bit
        mix ^= Self.scramble(i)
    }

    static func == (a: Bitset, b: Bitset) -> Bool { a.mix == b.mix && a.words == b.words }
    func hash(into hasher: inout Hasher) { hasher.combine(mix) }

    /// SplitMix64's finaliser: distinct, well-spread words for distinct members.
    private static func scramble(_ i: Int) -> UInt64 {
        var z = UInt64(i) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct MemoKey<State: Hashable>: Hashable {
    let linearized: Bitset
    let state: State
}

enum LinearizabilitySearch {
    static func check<M: LinearizabilityModel>(_ model: M, _ ops: [ModelOperation<M.Input, M.Output>],
                                               budget: SearchBudget, deadline: ContinuousClock.Instant?,
                                               abandon: () -> Bool = { false }) -> PartitionOutcome {
        // Events: 2i is op i's call, 2i+1 its return. Node 0 is the list head, so event e is node e+1.
        let n = ops.count
        var events = Array(0..<(2 * n))
        events.sort { a, b in
            let ta = a & 1 == 0 ? ops[a >> 1].call : ops[a >> 1].ret
            let tb = b & 1 == 0 ? ops[b >> 1].call : ops[b >> 1].ret
            if ta != tb { return ta < tb }
            return (a & 1, a) < (b & 1, b)   // calls before returns at equal times (returns at infinity)
        }
        var next = [Int](repeating: -1, count: 2 * n + 1)
        var prev = [Int](repeating: -1, count: 2 * n + 1)
        var previous = 0
        for e in events {
            next[previous] = e + 1
            prev[e + 1] = previous
            previous = e + 1
        }
        func lift(_ call: Int) {          // unlink a call node and its return node
            let ret = call + 1
            next[prev[call]] = next[call]; if next[call] >= 0 { prev[next[call]] = prev[call] }
            next[prev[ret]] = next[ret]; if next[ret] >= 0 { prev[next[ret]] = prev[ret] }
        }
        func unlift(_ call: Int) {        // relink them, in reverse order of lift
            let ret = call + 1
            next[prev[ret]] = ret; if next[ret] >= 0 { prev[next[ret]] = ret }
            next[prev[call]] = call; if next[call] >= 0 { prev[next[call]] = call }
        }

        var state = model.initialState
        var linearized = Bitset(count: n)
        var memo = Set<MemoKey<M.State>>()
        var stack: [(node: Int, state: M.State)] = []
        // The longest linearization so far, and how much of the stack still agrees with it (a deeper stack
        // then extends it from there, rather than being copied whole at every new depth).
        var best: [Int] = []
        var agreeing = 0
        var blocking: Int?
        var steps = 0
        var node = next[0]
        while next[0] >= 0 {
            steps += 1
            if let max = budget.maxSteps, steps > max { return .unknown(steps: steps) }
            if steps & 0x3FF == 0 {
                if let deadline, ContinuousClock.now >= deadline { return .unknown(steps: steps) }
                if memo.count > budget.maxMemoEntries || abandon() { return .unknown(steps: steps) }
            }
            let event = node - 1
            let op = event >> 1
            if event & 1 == 0 {
                if let after = model.step(state, ops[op].input, ops[op].output) {
                    linearized.insert(op)
                    if memo.insert(MemoKey(linearized: linearized, state: after)).inserted {
                        stack.append((node, state))
                        state = after
                        lift(node)
                        if stack.count > best.count {
                            best.removeSubrange(agreeing...)
                            best.append(contentsOf: stack[agreeing...].map { ($0.node - 1) >> 1 })
                            agreeing = stack.count
                            blocking = nil
                        }
                        node = next[0]
                        continue
                    }
                    linearized.remove(op)
                }
                node = next[node]
            } else {
                // A return whose call is still pending: nothing linearized so far can be extended here.
                if stack.count == best.count, blocking == nil { blocking = op }
                guard let top = stack.popLast() else {
                    return .notLinearizable(longestPrefix: best, blocking: blocking, steps: steps)
                }
                agreeing = min(agreeing, stack.count)
                state = top.state
                linearized.remove((top.node - 1) >> 1)
                unlift(top.node)
                node = next[top.node]
            }
        }
        return .linearizable
    }
}
