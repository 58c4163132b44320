import TernSupport

/// SWIM's randomised round-robin probe order without storing a list: each round walks the
/// member slots in the order `(a·i + b) mod n` for a random `a` coprime to `n` and a random
/// `b` — a fresh permutation per round in O(1) memory, so every member is probed once per
/// round and the worst-case detection time stays bounded. A round restarts when the member
/// count changes.
struct ProbeOrder: Sendable {
    private var multiplier = 1
    private var offset = 0
    private var size = 0
    private var position = 0

    mutating func next(in members: MemberTable, excluding me: NodeID, random: inout SplitMix64) -> NodeID? {
        guard members.liveCount > 1 else { return nil }
        var restarted = false
        while true {
            if size != members.count || position >= size {
                if restarted { return nil }
                restarted = true
                startRound(size: members.count, random: &random)
            }
            let slot = (multiplier * position + offset) % size
            position += 1
            if members.statuses[slot].isLive && members.ids[slot] != me { return members.ids[slot] }
        }
    }

    private mutating func startRound(size newSize: Int, random: inout SplitMix64) {
        size = newSize
        position = 0
        offset = Int(random.next() % UInt64(newSize))
        repeat {
            multiplier = 1 + Int(random.next() % UInt64(newSize))
        } while gcd(multiplier, newSize) != 1
    }

    private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
}
