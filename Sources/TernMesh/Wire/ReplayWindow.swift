/// Sliding-window replay protection for one sender's sequence numbers (as in IPsec): the
/// highest sequence seen plus a bitmap of which of the 64 below it were seen. Datagrams may
/// arrive out of order within the window; anything older is stale.
struct ReplayWindow: Sendable {
    static let width: UInt64 = 64

    private(set) var highest: UInt64 = 0
    private var seen: UInt64 = 0  // bit i set: sequence `highest - i` was accepted
    private var started = false

    enum Check: Equatable { case fresh, replayed, stale }

    func check(_ sequence: UInt64) -> Check {
        guard started else { return .fresh }
        if sequence > highest { return .fresh }
        let age = highest - sequence
        if age >= Self.width { return .stale }
        return seen & (1 << age) != 0 ? .replayed : .fresh
    }

    /// Records `sequence` as accepted; call only after `check` said `.fresh`.
    mutating func accept(_ sequence: UInt64) {
        guard started else {
            (started, highest, seen) = (true, sequence, 1)
            return
        }
        if sequence > highest {
            let shift = sequence - highest
            seen = shift >= Self.width ? 1 : (seen << shift) | 1
            highest = sequence
        } else {
            seen |= 1 << (highest - sequence)
        }
    }
}
