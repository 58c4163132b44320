/// Something piggybacked on SWIM messages until it has been sent enough times.
enum Broadcast: Sendable {
    case membership(MembershipUpdate)
    case profile(SignedProfile)

    var wireSize: Int {
        switch self {
        case let .membership(update): update.wireSize
        case let .profile(profile): profile.wireSize
        }
    }

    /// Newer facts about the same node replace older queued ones of the same kind.
    var key: BroadcastKey {
        switch self {
        case let .membership(update): BroadcastKey(node: update.node, isProfile: false)
        case let .profile(profile): BroadcastKey(node: profile.nodeID, isProfile: true)
        }
    }
}

struct BroadcastKey: Hashable, Sendable {
    let node: NodeID
    let isProfile: Bool
}

/// The transmit-limited queue of SWIM's infection-style dissemination: each broadcast is
/// sent at most `limit` times, least-sent first, within a byte budget per message.
struct BroadcastQueue: Sendable {
    private struct Entry: Sendable {
        let broadcast: Broadcast
        var transmits: Int
        let order: UInt64
    }

    private var entries: [Entry] = []
    private var nextOrder: UInt64 = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    var count: Int { entries.count }

    mutating func enqueue(_ broadcast: Broadcast) {
        let key = broadcast.key
        entries.removeAll { $0.broadcast.key == key }
        entries.append(Entry(broadcast: broadcast, transmits: 0, order: nextOrder))
        nextOrder += 1
        if entries.count > capacity {
            let victim = entries.indices.max { (entries[$0].transmits, entries[$1].order) < (entries[$1].transmits, entries[$0].order) }!
            entries.remove(at: victim)
        }
    }

    /// Takes the least-sent (then newest) broadcasts that fit in `budget` bytes, counts a
    /// transmission for each and retires those sent `limit` times.
    mutating func take(budget: Int, limit: Int) -> [Broadcast] {
        guard !entries.isEmpty else { return [] }
        entries.sort { ($0.transmits, $1.order) < ($1.transmits, $0.order) }
        var remaining = budget
        var chosen: [Broadcast] = []
        for index in entries.indices where remaining > 0 {
            let broadcast = entries[index].broadcast
            let size = broadcast.wireSize
            guard size <= remaining else { continue }
            chosen.append(broadcast)
            remaining -= size
            entries[index].transmits += 1
        }
        entries.removeAll { $0.transmits >= limit }
        return chosen
    }
}
