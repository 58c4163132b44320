/// A binary min-heap of simulator events ordered by time, then by insertion order, so
/// simultaneous events run in a reproducible order (same seed, same run). Shared by the
/// gossip simulator and the fine-tune simulator.
public struct EventHeap<Payload> {
    private struct Item {
        let at: UInt64
        let order: UInt64
        let payload: Payload
    }

    private var items: [Item] = []
    private var inserted: UInt64 = 0

    public init() {}

    public var isEmpty: Bool { items.isEmpty }
    public var nextTime: UInt64? { items.first?.at }

    public mutating func push(_ payload: Payload, at time: UInt64) {
        items.append(Item(at: time, order: inserted, payload: payload))
        inserted += 1
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(child, parent) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    public mutating func pop() -> (at: UInt64, payload: Payload)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var first = parent
            if left < items.count && precedes(left, first) { first = left }
            if right < items.count && precedes(right, first) { first = right }
            guard first != parent else { break }
            items.swapAt(parent, first)
            parent = first
        }
        return (top.at, top.payload)
    }

    private func precedes(_ a: Int, _ b: Int) -> Bool {
        (items[a].at, items[a].order) < (items[b].at, items[b].order)
    }
}
