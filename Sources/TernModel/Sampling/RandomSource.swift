import TernSupport

/// xoshiro256** seeded through SplitMix64: a small, fast, reproducible generator, so a
/// given seed samples the same tokens on every platform and Swift version.
public struct RandomSource: RandomNumberGenerator, Sendable, Equatable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var expander = SplitMix64(seed: seed)
        state = (expander.next(), expander.next(), expander.next(), expander.next())
    }

    public mutating func next() -> UInt64 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3 << 45 | state.3 >> 19
        return result
    }

    /// A uniform value in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// The four state words, so a checkpoint can resume the exact same sequence.
    public var stateWords: [UInt64] { [state.0, state.1, state.2, state.3] }

    /// Restores a generator saved with `stateWords`; nil unless there are exactly four
    /// words, not all zero (the one state xoshiro cannot leave).
    public init?(stateWords w: [UInt64]) {
        guard w.count == 4, w.contains(where: { $0 != 0 }) else { return nil }
        state = (w[0], w[1], w[2], w[3])
    }

    public static func == (a: RandomSource, b: RandomSource) -> Bool {
        a.state == b.state
    }
}
