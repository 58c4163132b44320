import TernSupport

/// Makes fuzz inputs: mostly valid samples with a few mutations stacked on them, sometimes
/// purely random bytes, now and then a sample unchanged (so the accepting path and its
/// invariants run too). Seeded: the same samples and seed give the same inputs, so any
/// finding replays from `tern fuzz TARGET --seed S`.
///
/// Mutating valid inputs gets past the first checks (magic, version, lengths) that random
/// bytes almost never pass; the mutations aim at what decoders get wrong: lengths and counts
/// that lie, values at type boundaries, records cut short or run together.
public struct MutationFuzzer: Sendable {
    /// One way of changing an input.
    public enum Mutation: CaseIterable, Sendable {
        /// Flip one bit.
        case flipBit
        /// Set a byte to a boundary value (0, 1, 0x7F, 0x80, 0xFF).
        case setInterestingByte
        case setRandomByte
        /// Add or subtract a little: off-by-one lengths, the next enum case.
        case nudgeByte
        /// Insert 1…16 random bytes.
        case insertRandomBytes
        case deleteRange
        /// Copy a range to another place (repeated fields, a list entry twice).
        case duplicateRange
        /// Cut the input short.
        case truncate
        /// The start of this input followed by the end of another sample.
        case splice
        /// Write a boundary value (a wire limit ± 1, a huge count) as a 1, 2, 4 or 8-byte
        /// integer, big- or little-endian, over whatever is there.
        case overwriteLengthField
    }

    public let samples: [[UInt8]]
    /// No input is longer: twice the largest sample plus a little, so insertions cannot
    /// grow inputs without bound.
    public let maxInputBytes: Int
    private var random: SplitMix64

    static let interestingBytes: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF]
    /// Values that sit on a limit of some decoder, or overflow one.
    static let interestingLengths: [UInt64] = [
        0, 1, 2, 31, 32, 33,
        UInt64(WireLimits.maxListCount), UInt64(WireLimits.maxListCount) + 1,
        0x7F, 0x80, UInt64(WireLimits.maxStringBytes), UInt64(WireLimits.maxStringBytes) + 1,
        UInt64(HardwareProfile.maxEncodedBytes), UInt64(HardwareProfile.maxEncodedBytes) + 1,
        UInt64(GossipEnvelope.maxBodyBytes), UInt64(GossipEnvelope.maxBodyBytes) + 1,
        UInt64(WireLimits.maxPacketBytes), UInt64(WireLimits.maxPacketBytes) + 1,
        0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x1_0001,
        0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000,
        0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF,
    ]

    public init(samples: [[UInt8]], seed: UInt64) {
        self.samples = samples
        self.maxInputBytes = 2 * (samples.map(\.count).max() ?? 0) + 64
        self.random = SplitMix64(seed: seed)
    }

    /// The next input: 1 in 16 random bytes, 1 in 16 a sample as is, otherwise a sample
    /// with 1…8 mutations (fewer more often).
    public mutating func nextInput() -> [UInt8] {
        let roll = below(16)
        if samples.isEmpty || roll == 0 { return randomBytes() }
        var input = samples[below(samples.count)]
        if roll == 1 { return input }
        var mutations = 1
        while mutations < 8, below(2) == 0 { mutations += 1 }
        for _ in 0..<mutations {
            apply(Mutation.allCases[below(Mutation.allCases.count)], to: &input)
        }
        if input.count > maxInputBytes { input.removeSubrange(maxInputBytes...) }
        return input
    }

    /// Random bytes, short ones more often (a decoder's first checks see most of them).
    public mutating func randomBytes() -> [UInt8] {
        let count = below(2) == 0 ? below(65) : below(maxInputBytes + 1)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    /// Applies one mutation in place. One that needs bytes to work on (a bit flip on an empty
    /// input) inserts random bytes instead.
    public mutating func apply(_ mutation: Mutation, to input: inout [UInt8]) {
        guard !input.isEmpty || mutation == .splice else {
            input = (0..<1 + below(16)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            return
        }
        switch mutation {
        case .flipBit:
            input[below(input.count)] ^= 1 << UInt8(below(8))
        case .setInterestingByte:
            input[below(input.count)] = Self.interestingBytes[below(Self.interestingBytes.count)]
        case .setRandomByte:
            input[below(input.count)] = UInt8(truncatingIfNeeded: random.next())
        case .nudgeByte:
            let at = below(input.count), delta = UInt8(1 + below(16))
            input[at] = below(2) == 0 ? input[at] &+ delta : input[at] &- delta
        case .insertRandomBytes:
            let inserted = (0..<1 + below(16)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            input.insert(contentsOf: inserted, at: below(input.count + 1))
        case .deleteRange:
            let range = randomRange(in: input.count)
            input.removeSubrange(range)
        case .duplicateRange:
            let copied = Array(input[randomRange(in: input.count)])
            input.insert(contentsOf: copied, at: below(input.count + 1))
        case .truncate:
            input.removeSubrange(below(input.count)...)
        case .splice:
            guard !samples.isEmpty else { return }
            let other = samples[below(samples.count)]
            let head = input.prefix(below(input.count + 1))
            input = Array(head) + other.suffix(from: below(other.count + 1))
        case .overwriteLengthField:
            let width = [1, 2, 4, 8][below(4)]
            guard input.count >= width else { return }
            let value = Self.interestingLengths[below(Self.interestingLengths.count)]
            let at = below(input.count - width + 1), bigEndian = below(2) == 0
            for index in 0..<width {
                let shift = UInt64(8 * (bigEndian ? width - 1 - index : index))
                input[at + index] = UInt8(truncatingIfNeeded: value >> shift)
            }
        }
    }

    /// A non-empty range inside `0..<count` (count > 0), 1…32 bytes long.
    private mutating func randomRange(in count: Int) -> Range<Int> {
        let start = below(count)
        return start..<min(count, start + 1 + below(32))
    }

    /// A uniform integer in `0..<bound`.
    private mutating func below(_ bound: Int) -> Int {
        Int.random(in: 0..<bound, using: &random)
    }
}
