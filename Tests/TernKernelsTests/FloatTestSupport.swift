import TernKernels
import TernSupport

/// Deterministic random numbers for kernel tests (the project's SplitMix64).
struct KernelTestRandom {
    private var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

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
