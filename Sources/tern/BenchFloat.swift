import TernSupport
import ArgumentParser
import Foundation
import TernKernels
import TernMesh

/// `tern bench float`: float and block-quantized GEMV / GEMM / transposed GEMM on the demo
/// model's shapes (SmolLM2-135M: hidden 576, FFN 1536, vocabulary 49152), the scalar
/// reference and the chosen SIMD variant timed in the same run.
struct BenchFloat: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "float",
        abstract: "Float (F32/F16/BF16) and block-quant (Q8_0/Q4_1/Q4_K/Q6_K) matmul throughput."
    )

    @Flag(help: "Print JSON instead of a table.") var json = false
    @Option(help: "Kernel threads (default: one per CPU).") var threads: Int?
    @Option(help: "SIMD variant to compare with scalar: avx2, avx512, neon (default: best).") var variant: String?
    @Option(help: "Seconds spent on each case (the fastest call counts).") var seconds = 0.3

    struct Case: Codable {
        let op: String
        let shape: String
        let n: Int
        let weights: String
        let scalar_gflops: Double
        let simd_gflops: Double
        let speedup: Double
    }

    struct Report: Codable {
        let threads: Int
        let variant: String
        let cases: [Case]
    }

    func run() throws {
        let simd = try chosenVariant()
        let pool = ThreadPool(threads: threads)
        var cases: [Case] = []
        for (rows, cols) in [(1536, 576), (576, 1536), (49152, 576)] {
            var rng = SplitMix64(seed: UInt64(rows * cols))
            let values = (0..<(rows * cols)).map { _ in rng.float() * 0.05 }
            var kinds: [(String, WeightKind)] = try FloatElementType.allCases.map {
                ("\($0)", .float(try FloatMatrix(rows: rows, cols: cols, values: values, as: $0)))
            }
            for format in [BlockQuantFormat.q8_0, .q4_1, .q4_K, .q6_K] where cols % format.blockElements == 0 {
                kinds.append(("\(format)", .quant(try randomBlockMatrix(format, rows: rows, cols: cols, rng: &rng))))
            }
            for n in rows > 10_000 ? [1] : [1, 64] {
                let x = (0..<(n * cols)).map { _ in rng.float() }, g = (0..<(n * rows)).map { _ in rng.float() }
                var y = [Float](repeating: 0, count: n * rows), dx = [Float](repeating: 0, count: n * cols)
                for (name, kind) in kinds {
                    for transposed in n > 1 ? [false, true] : [false] {
                        func time(_ v: FloatKernelVariant) throws -> Double {
                            try fastest {
                                if transposed {
                                    try g.withUnsafeBufferPointer { gp in try dx.withUnsafeMutableBufferPointer { try kind.matmulTransposed(gp, n, $0, pool, v) } }
                                } else {
                                    try x.withUnsafeBufferPointer { xp in try y.withUnsafeMutableBufferPointer { try kind.matmul(xp, n, $0, pool, v) } }
                                }
                            }
                        }
                        let flops = 2 * Double(n * rows * cols)
                        let scalar = flops / (try time(.scalar)) / 1e9, fast = flops / (try time(simd)) / 1e9
                        cases.append(Case(op: transposed ? "X·W" : "X·Wᵀ", shape: "\(rows)x\(cols)", n: n, weights: name,
                                          scalar_gflops: scalar, simd_gflops: fast, speedup: fast / scalar))
                    }
                }
            }
        }
        let report = Report(threads: pool.threadCount, variant: "\(simd)", cases: cases)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("threads: \(report.threads)  variant: \(report.variant)  (GFLOP/s, fastest call)")
            var table = TablePrinter("OP", "SHAPE (OUT x IN)", "N", "WEIGHTS", "SCALAR", report.variant.uppercased(), "SPEEDUP")
            for c in cases {
                table.add([c.op, c.shape, String(c.n), c.weights, String(format: "%.1f", c.scalar_gflops),
                           String(format: "%.1f", c.simd_gflops), String(format: "%.1fx", c.speedup)])
            }
            print(table.render())
        }
    }

    private func chosenVariant() throws -> FloatKernelVariant {
        guard let name = variant else { return .bestFloat }
        guard let v = FloatKernelVariant.allCases.first(where: { "\($0)" == name }), v != .automatic, v != .scalar else {
            throw ValidationError("unknown variant '\(name)'; choose avx2, avx512 or neon")
        }
        guard v.supportsFloatKernels else { throw ValidationError("variant \(name) is not available on this CPU") }
        return v
    }

    /// Seconds of the fastest of the calls made within `seconds` (at least 3 calls).
    private func fastest(_ body: () throws -> Void) throws -> Double {
        let clock = ContinuousClock()
        var best = Double.infinity, calls = 0
        let start = clock.now
        while calls < 3 || (clock.now - start) < .milliseconds(Int(seconds * 1000)) {
            let d = try clock.measure(body)
            best = min(best, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
            calls += 1
        }
        return best
    }
}

private enum WeightKind {
    case float(FloatMatrix)
    case quant(BlockQuantMatrix)

    func matmul(_ x: UnsafeBufferPointer<Float>, _ n: Int, _ y: UnsafeMutableBufferPointer<Float>,
                _ pool: ThreadPool, _ v: FloatKernelVariant) throws {
        switch self {
        case .float(let w): try FloatKernels.matmul(x, rows: n, weights: w, into: y, pool: pool, variant: v)
        case .quant(let w): try BlockQuantKernels.matmul(x, rows: n, weights: w, into: y, pool: pool, variant: Self.quantVariant(v))
        }
    }

    func matmulTransposed(_ g: UnsafeBufferPointer<Float>, _ n: Int, _ dx: UnsafeMutableBufferPointer<Float>,
                          _ pool: ThreadPool, _ v: FloatKernelVariant) throws {
        switch self {
        case .float(let w): try FloatKernels.matmulTransposed(g, rows: n, weights: w, into: dx, pool: pool, variant: v)
        case .quant(let w): try BlockQuantKernels.matmulTransposed(g, rows: n, weights: w, into: dx, pool: pool, variant: v)
        }
    }

    /// AVX-512 without VNNI runs the float kernels but not the int8 ones: fall back to the
    /// best int8 variant there.
    private static func quantVariant(_ v: FloatKernelVariant) -> FloatKernelVariant {
        v.supportsQuantKernels ? v : .automatic
    }
}

/// Random blocks with small, finite f16 scales: realistic work for the kernels.
private func randomBlockMatrix(_ format: BlockQuantFormat, rows: Int, cols: Int, rng: inout SplitMix64) throws -> BlockQuantMatrix {
    let blocks = rows * cols / format.blockElements
    var bytes = (0..<(blocks * format.blockBytes)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    let scaleOffsets = format == .q6_K ? [208] : (format == .q4_1 || format == .q4_K ? [0, 2] : [0])
    let scale: UInt16 = 0x211F   // 0.01 as IEEE half
    for b in 0..<blocks {
        for offset in scaleOffsets {
            bytes[b * format.blockBytes + offset] = UInt8(scale & 0xFF)
            bytes[b * format.blockBytes + offset + 1] = UInt8(scale >> 8)
        }
    }
    return try BlockQuantMatrix(format: format, rows: rows, cols: cols, copying: bytes)
}

/// Reproducible benchmark data from the project's seeded generator.
private extension SplitMix64 {
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
}
