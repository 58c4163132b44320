/// A token bucket: holds up to `capacity` tokens, refills at `refillPerSecond`, and each
/// admitted message takes one. Time is passed in, so it is exact under test and simulation.
public struct TokenBucket: Sendable, Equatable {
    public let capacity: Double
    public let refillPerSecond: Double
    public private(set) var tokens: Double
    private var lastRefillMillis: UInt64

    public init(capacity: Double, refillPerSecond: Double, nowMillis: UInt64) {
        self.capacity = capacity
        self.refillPerSecond = refillPerSecond
        self.tokens = capacity
        self.lastRefillMillis = nowMillis
    }

    /// Takes one token if there is one.
    public mutating func take(nowMillis: UInt64) -> Bool {
        if nowMillis > lastRefillMillis {
            tokens = min(capacity, tokens + Double(nowMillis - lastRefillMillis) / 1000 * refillPerSecond)
            lastRefillMillis = nowMillis
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
