/// A dictionary with a hard capacity that forgets its least recently used entry when full,
/// in O(1) per operation (a hash map into a doubly linked list kept in arrays).
///
/// Every table a remote party can grow — per-sender replay windows, per-peer scores and
/// rate limits, per-source-address buckets — is one of these, so no sequence of packets can
/// make a node's memory grow past a fixed bound.
public struct LRUTable<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Node: Sendable {
        var key: Key
        var value: Value
        var newer: Int32
        var older: Int32
    }

    public let capacity: Int
    private var index: [Key: Int32] = [:]
    private var nodes: [Node] = []
    private var newest: Int32 = -1
    private var oldest: Int32 = -1

    public init(capacity: Int) {
        precondition(capacity > 0, "an LRU table needs room for one entry")
        self.capacity = capacity
    }

    public var count: Int { nodes.count }

    /// The value for `key` without changing its recency.
    public func peek(_ key: Key) -> Value? { index[key].map { nodes[Int($0)].value } }

    /// The value for `key`, which becomes the most recently used.
    public mutating func get(_ key: Key) -> Value? {
        guard let slot = index[key] else { return nil }
        touch(slot)
        return nodes[Int(slot)].value
    }

    /// Stores `value` for `key` as the most recently used entry; evicts the least recently
    /// used one when the table is full. Returns the evicted key, if any.
    @discardableResult
    public mutating func set(_ key: Key, _ value: Value) -> Key? {
        if let slot = index[key] {
            nodes[Int(slot)].value = value
            touch(slot)
            return nil
        }
        var evicted: Key?
        let slot: Int32
        if nodes.count >= capacity {
            slot = oldest
            evicted = nodes[Int(slot)].key
            unlink(slot)
            index[evicted!] = nil
            nodes[Int(slot)] = Node(key: key, value: value, newer: -1, older: -1)
        } else {
            slot = Int32(nodes.count)
            nodes.append(Node(key: key, value: value, newer: -1, older: -1))
        }
        index[key] = slot
        linkAsNewest(slot)
        return evicted
    }

    /// Updates the value for `key` in place (inserting `fallback()` first if absent) and
    /// marks it most recently used.
    public mutating func update<R>(_ key: Key, default fallback: () -> Value, _ body: (inout Value) -> R) -> R {
        if index[key] == nil { set(key, fallback()) }
        let slot = index[key]!
        touch(slot)
        return body(&nodes[Int(slot)].value)
    }

    private mutating func touch(_ slot: Int32) {
        guard slot != newest else { return }
        unlink(slot)
        linkAsNewest(slot)
    }

    private mutating func unlink(_ slot: Int32) {
        let node = nodes[Int(slot)]
        if node.newer >= 0 { nodes[Int(node.newer)].older = node.older } else { newest = node.older }
        if node.older >= 0 { nodes[Int(node.older)].newer = node.newer } else { oldest = node.newer }
        nodes[Int(slot)].newer = -1
        nodes[Int(slot)].older = -1
    }

    private mutating func linkAsNewest(_ slot: Int32) {
        nodes[Int(slot)].older = newest
        nodes[Int(slot)].newer = -1
        if newest >= 0 { nodes[Int(newest)].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }
}
