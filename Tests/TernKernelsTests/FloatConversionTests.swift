import CTernary
import Testing

@Suite("F16 / BF16 conversion")
struct FloatConversionTests {
    @Test func everyF16RoundTripsThroughF32() {
        var mismatches = 0
        for bits in 0...UInt16.max {
            let f = tern_f16_to_f32(bits)
            if f.isNaN { if tern_f32_to_f16(f) & 0x7C00 != 0x7C00 || tern_f32_to_f16(f) & 0x3FF == 0 { mismatches += 1 } }
            else if tern_f32_to_f16(f) != bits { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func f16EdgeValues() {
        #expect(tern_f32_to_f16(65504) == 0x7BFF)
        #expect(tern_f32_to_f16(65519.99) == 0x7BFF)
        #expect(tern_f32_to_f16(65520) == 0x7C00)          // rounds up to infinity
        #expect(tern_f32_to_f16(-.infinity) == 0xFC00)
        #expect(tern_f32_to_f16(5.9604645e-8) == 0x0001)   // smallest subnormal
        #expect(tern_f32_to_f16(2.9802322e-8) == 0x0000)   // half of it: tie to even (0)
        #expect(tern_f32_to_f16(4.4703484e-8) == 0x0001)   // 0.75 of it rounds up
        #expect(tern_f32_to_f16(1.0 + 1.0 / 2048) == 0x3C00) // tie between 1 and next: even
        #expect(tern_f32_to_f16(1.0 + 3.0 / 2048) == 0x3C02) // tie rounds to even (up)
        #expect(tern_f16_to_f32(0x3555) == 0.333251953125)
        #expect(tern_f16_to_f32(0x8001) == -5.9604645e-8)
    }

    #if !(os(macOS) && arch(x86_64))
    @Test func f32ToF16MatchesSwiftFloat16() {
        var rng = KernelTestRandom(seed: 7)
        for _ in 0..<20000 {
            let exponent = Int(rng.next() % 40) - 30           // 2^-30 … 2^9, plus overflow below
            let value = rng.float() * Float(sign: .plus, exponent: exponent, significand: 1)
            #expect(tern_f32_to_f16(value) == Float16(value).bitPattern, "value \(value)")
        }
        for value: Float in [70000, -1e9, 1e-10, 6.1e-5, 6.09e-5] {
            #expect(tern_f32_to_f16(value) == Float16(value).bitPattern, "value \(value)")
        }
    }
    #endif

    @Test func bf16RoundsToNearestEven() {
        func bf16(_ bits: UInt32) -> UInt16 { tern_f32_to_bf16(Float(bitPattern: bits)) }
        #expect(bf16(0x3F80_0000) == 0x3F80)
        #expect(bf16(0x3F80_8000) == 0x3F80)   // tie, even stays
        #expect(bf16(0x3F81_8000) == 0x3F82)   // tie, odd rounds up
        #expect(bf16(0x3F80_8001) == 0x3F81)
        #expect(bf16(0x7F7F_FFFF) == 0x7F80)   // largest float rounds to infinity
        #expect(tern_bf16_to_f32(bf16(0x7FC0_0001)).isNaN)
        #expect(tern_bf16_to_f32(0xC040) == -3.0)
    }
}
