/// Lifeguard's local health multiplier: a saturating counter that rises when this node
/// shows signs of being slow or cut off (missed acks and nacks, having to refute a
/// suspicion of itself) and falls on each successful probe. Timeouts and the probe interval
/// are multiplied by `multiplier`, so a struggling node slows down instead of wrongly
/// accusing healthy peers.
public struct LocalHealth: Sendable, Equatable {
    public let maximum: Int
    public private(set) var score = 0

    public init(maximum: Int) { self.maximum = maximum }

    public var multiplier: UInt64 { UInt64(score + 1) }

    mutating func adjust(by delta: Int) {
        score = min(max(score + delta, 0), maximum - 1)
    }
}
