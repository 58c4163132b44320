import TernKernels

/// Deterministic random numbers for kernel tests (SplitMix64).
struct KernelTestRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-scale, scale).
    mutating func float(_ scale: Float = 1) -> Float {
        (Float(next() >> 40) / Float(1 << 24) * 2 - 1) * scale
    }

    mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in float(scale) }
    }
}

/// The named variants this machine can run, for parameterized tests.
let floatVariantsHere = FloatKernelVariant.allCases.filter { $0 != .automatic && $0.supportsFloatKernels }
let quantVariantsHere = FloatKernelVariant.allCases.filter { $0 != .automatic && $0.supportsQuantKernels }

/// |a - b| <= tolerance for every element (and equal counts).
func allClose(_ a: [Float], _ b: [Float], tolerance: (Int) -> Float) -> Bool {
    a.count == b.count && a.indices.allSatisfy { abs(a[$0] - b[$0]) <= tolerance($0) }
}

/// Runs a kernel that writes `count` outputs and returns them (NaN-filled first, so an
/// output the kernel forgot shows up).
func kernelOutput(count: Int, _ body: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows -> [Float] {
    var out = [Float](repeating: .nan, count: count)
    try out.withUnsafeMutableBufferPointer { try body($0) }
    return out
}
