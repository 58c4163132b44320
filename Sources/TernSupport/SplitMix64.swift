/// A small, fast, seedable random number generator (SplitMix64), the project's one source of
/// reproducible randomness: SWIM's choices and the simulator (TernMesh), the sampler's seed
/// expansion (TernModel), LoRA dropout masks (TernTrain) and benchmark data. A run is
/// reproducible from its seed — in tests, in the simulator, and on resume.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= Self.increment
        return Self.finalize(state)
    }

    /// The output for counter value `x`, statelessly: a bijection of 64-bit words whose every
    /// output bit depends on every input bit, so consecutive counters (or keys mixed with
    /// `^`) give independent-looking words. `SplitMix64(seed: x).next() == mix(x)`.
    public static func mix(_ x: UInt64) -> UInt64 { finalize(x &+ increment) }

    static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    static func finalize(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
