// A min-heap of timed events. Ties break by insertion order so that a seed always replays the same way.

struct EventQueue<Event> {
    private var heap: [(timeMs: Int64, sequence: UInt64, event: Event)] = []
    private var nextSequence: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }

    mutating func schedule(_ event: Event, atMs timeMs: Int64) {
        heap.append((timeMs, nextSequence, event))
        nextSequence += 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard earlier(child, than: parent) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (timeMs: Int64, event: Event)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, earlier(left, than: smallest) { smallest = left }
            if right < heap.count, earlier(right, than: smallest) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (top.timeMs, top.event)
    }

    private func earlier(_ a: Int, than b: Int) -> Bool {
        (heap[a].timeMs, heap[a].sequence) < (heap[b].timeMs, heap[b].sequence)
    }
}
