import Foundation
import CTernary
import Testing
import TernKernels

/// Double-precision Y = X·Wᵀ and Σ|x·w| (the scale of the rounding error) per output.
private func referenceMatmul(_ x: [Float], n: Int, _ w: [Float], out: Int, inner: Int) -> (y: [Double], mag: [Double]) {
    var y = [Double](repeating: 0, count: n * out), mag = y
    for i in 0..<n { for j in 0..<out { for k in 0..<inner {
        let p = Double(x[i * inner + k]) * Double(w[j * inner + k])
        y[i * out + j] += p; mag[i * out + j] += abs(p)
    } } }
    return (y, mag)
}

private func weightsAsStored(_ w: FloatMatrix) throws -> [Float] {
    try (0..<w.rows).flatMap { try w.row($0) }
}

/// Rounding tolerance relative to Σ|x·w|: F32 accumulation, or BF16-rounded activations
/// when the AVX-512 BF16 dot product runs.
private func gemmTolerance(_ variant: FloatKernelVariant, _ type: FloatElementType) -> Double {
    variant == .avx512 && type == .bf16 ? 8e-3 : 2e-6
}

private let gemmShapes: [(n: Int, inner: Int, out: Int)] = [
    (1, 1, 1), (1, 7, 5), (3, 33, 17), (2, 100, 37), (5, 64, 16), (1, 257, 9), (4, 16, 70),
]

@Suite("Float GEMM")
struct FloatGemmTests {
    @Test(arguments: floatVariantsHere, FloatElementType.allCases)
    func matmulMatchesDoubleReference(variant: FloatKernelVariant, type: FloatElementType) throws {
        var rng = KernelTestRandom(seed: 11)
        for (n, inner, out) in gemmShapes {
            var x = rng.floats(n * inner)
            x[0] = 0; x[x.count - 1] = 1000   // edge values
            let w = try FloatMatrix(rows: out, cols: inner, values: rng.floats(out * inner, scale: 0.5), as: type)
            let ref = referenceMatmul(x, n: n, try weightsAsStored(w), out: out, inner: inner)
            let y = try kernelOutput(count: n * out) { y in
                try x.withUnsafeBufferPointer { try FloatKernels.matmul($0, rows: n, weights: w, into: y, variant: variant) }
            }
            let tol = gemmTolerance(variant, type)
            #expect(y.indices.allSatisfy { abs(Double(y[$0]) - ref.y[$0]) <= tol * ref.mag[$0] + 1e-30 },
                    "\(variant) \(type) n=\(n) in=\(inner) out=\(out)")
        }
    }

    @Test(arguments: floatVariantsHere, FloatElementType.allCases)
    func transposedMatchesDoubleReference(variant: FloatKernelVariant, type: FloatElementType) throws {
        var rng = KernelTestRandom(seed: 12)
        for (n, inner, out) in gemmShapes + [(2, 300, 3)] {
            let g = rng.floats(n * out)
            let w = try FloatMatrix(rows: out, cols: inner, values: rng.floats(out * inner), as: type)
            let stored = try weightsAsStored(w)
            let dx = try kernelOutput(count: n * inner) { dx in
                try g.withUnsafeBufferPointer { try FloatKernels.matmulTransposed($0, rows: n, weights: w, into: dx, variant: variant) }
            }
            var ok = true
            for i in 0..<n { for k in 0..<inner {
                var ref = 0.0, mag = 0.0
                for o in 0..<out { let p = Double(g[i * out + o]) * Double(stored[o * inner + k]); ref += p; mag += abs(p) }
                ok = ok && abs(Double(dx[i * inner + k]) - ref) <= 2e-6 * mag + 1e-30
            } }
            #expect(ok, "\(variant) \(type) n=\(n) in=\(inner) out=\(out)")
        }
    }

    @Test(arguments: FloatElementType.allCases)
    func resultsAreIdenticalForAnyThreadCount(type: FloatElementType) throws {
        var rng = KernelTestRandom(seed: 13)
        let (n, inner, out) = (3, 300, 83)
        let x = rng.floats(n * inner), g = rng.floats(n * out)
        let w = try FloatMatrix(rows: out, cols: inner, values: rng.floats(out * inner), as: type)
        func run(_ pool: ThreadPool?) throws -> [Float] {
            let y = try kernelOutput(count: n * out) { y in
                try x.withUnsafeBufferPointer { try FloatKernels.matmul($0, rows: n, weights: w, into: y, pool: pool) }
            }
            let dx = try kernelOutput(count: n * inner) { dx in
                try g.withUnsafeBufferPointer { try FloatKernels.matmulTransposed($0, rows: n, weights: w, into: dx, pool: pool) }
            }
            return y + dx
        }
        let single = try run(nil)
        #expect(try run(ThreadPool(threads: 1)) == single)
        #expect(try run(ThreadPool(threads: 3)) == single)
    }

    @Test func shapeMismatchNamesBothShapes() throws {
        let w = try FloatMatrix(rows: 4, cols: 3, values: [Float](repeating: 1, count: 12))
        let x = [Float](repeating: 1, count: 5)
        var y = [Float](repeating: 0, count: 4)
        #expect {
            try x.withUnsafeBufferPointer { xp in
                try y.withUnsafeMutableBufferPointer { try FloatKernels.matmul(xp, rows: 1, weights: w, into: $0) }
            }
        } throws: { error in
            let text = "\(error)"
            return text.contains("4×3") && text.contains("1×3") && text.contains("5 values")
        }
        #expect(throws: FloatKernelError.self) {
            try x.withUnsafeBufferPointer { xp in
                try y.withUnsafeMutableBufferPointer { try FloatKernels.matmulTransposed(xp, rows: 1, weights: w, into: $0) }
            }
        }
        let bytes = [UInt8](repeating: 0, count: 23)
        bytes.withUnsafeBytes { raw -> Void in
            #expect(throws: FloatKernelError.byteCountMismatch(shape: "3×4", format: "F16", expected: 24, byteCount: 23)) {
                _ = try FloatMatrix(elementType: .f16, rows: 3, cols: 4, bytes: raw)
            }
        }
        #expect(throws: FloatKernelError.self) { _ = try FloatMatrix(rows: 2, cols: 2, values: [1, 2, 3]) }
    }

    @Test func unsupportedVariantThrows() throws {
        guard let missing = FloatKernelVariant.allCases.first(where: { !$0.supportsFloatKernels }) else { return }
        let w = try FloatMatrix(rows: 1, cols: 1, values: [2])
        let x: [Float] = [3]
        var y: [Float] = [0]
        #expect(throws: FloatKernelError.unsupportedVariant(missing)) {
            try x.withUnsafeBufferPointer { xp in
                try y.withUnsafeMutableBufferPointer { try FloatKernels.matmul(xp, rows: 1, weights: w, into: $0, variant: missing) }
            }
        }
    }
}

@Suite("Float row operations")
struct FloatRowOpTests {
    @Test(arguments: floatVariantsHere)
    func rmsNormMatchesDouble(variant: FloatKernelVariant) throws {
        var rng = KernelTestRandom(seed: 21)
        for d in [1, 7, 16, 64, 100] {
            let rows = 3
            var x = rng.floats(rows * d, scale: 4)
            x[0] = 0
            let weight = rng.floats(d)
            for useWeight in [true, false] {
                let y = try kernelOutput(count: x.count) { y in
                    try x.withUnsafeBufferPointer { xp in
                        try weight.withUnsafeBufferPointer { wp in
                            try FloatKernels.rmsNorm(xp, weight: useWeight ? wp : nil, rowLength: d, eps: 1e-5, into: y, variant: variant)
                        }
                    }
                }
                for r in 0..<rows {
                    let row = x[(r * d)..<((r + 1) * d)].map(Double.init)
                    let scale = 1 / (row.reduce(0) { $0 + $1 * $1 } / Double(d) + 1e-5).squareRoot()
                    for k in 0..<d {
                        let ref = row[k] * scale * (useWeight ? Double(weight[k]) : 1)
                        #expect(abs(Double(y[r * d + k]) - ref) <= 1e-5 * abs(ref) + 1e-6, "\(variant) d=\(d) k=\(k)")
                    }
                }
            }
        }
    }

    private func doubleSoftmax(_ row: ArraySlice<Float>) -> [Double] {
        let m = Double(row.max()!)
        let e = row.map { exp(Double($0) - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    @Test(arguments: floatVariantsHere)
    func softmaxRowsSumToOneAndMatchDouble(variant: FloatKernelVariant) throws {
        var rng = KernelTestRandom(seed: 22)
        for cols in [1, 5, 16, 37, 100] {
            var x = rng.floats(2 * cols, scale: 30)
            if cols > 1 { x[1] = -.infinity }   // a masked logit
            let y = try kernelOutput(count: x.count) { y in
                try x.withUnsafeBufferPointer { try FloatKernels.softmax($0, columns: cols, into: y, variant: variant) }
            }
            for r in 0..<2 {
                let ref = doubleSoftmax(x[(r * cols)..<((r + 1) * cols)])
                let row = y[(r * cols)..<((r + 1) * cols)]
                #expect(abs(row.reduce(0, +) - 1) <= 1e-5, "\(variant) cols=\(cols)")
                #expect(zip(row, ref).allSatisfy { abs(Double($0) - $1) <= 1e-5 * $1 + 1e-7 }, "\(variant) cols=\(cols)")
            }
        }
    }

    @Test(arguments: floatVariantsHere)
    func causalSoftmaxZeroesFutureColumns(variant: FloatKernelVariant) throws {
        var rng = KernelTestRandom(seed: 23)
        let (rows, cols, offset) = (4, 21, 2)
        let x = rng.floats(rows * cols, scale: 5)
        let y = try kernelOutput(count: x.count) { y in
            try x.withUnsafeBufferPointer { try FloatKernels.softmax($0, columns: cols, causalOffset: offset, into: y, variant: variant) }
        }
        for r in 0..<rows {
            let valid = r + offset + 1
            let ref = doubleSoftmax(x[(r * cols)..<(r * cols + valid)])
            #expect(y[(r * cols + valid)..<((r + 1) * cols)].allSatisfy { $0 == 0 })
            #expect(zip(y[(r * cols)..<(r * cols + valid)], ref).allSatisfy { abs(Double($0) - $1) <= 1e-5 * $1 + 1e-7 })
        }
    }

    /// Direct formula: pair i at position p turns by p·base^(−2i/rot).
    private func referenceRope(_ x: [Float], positions: [Int32], heads: Int, headDim: Int, rot: Int,
                               base: Double, layout: RoPELayout) -> [Double] {
        var y = x.map(Double.init)
        for t in positions.indices { for h in 0..<heads {
            let o = (t * heads + h) * headDim
            for i in 0..<(rot / 2) {
                let theta = Double(positions[t]) * pow(base, -2 * Double(i) / Double(rot))
                let (a, b) = layout == .neox ? (o + i, o + i + rot / 2) : (o + 2 * i, o + 2 * i + 1)
                let (xa, xb) = (y[a], y[b])
                y[a] = xa * cos(theta) - xb * sin(theta)
                y[b] = xa * sin(theta) + xb * cos(theta)
            }
        } }
        return y
    }

    @Test(arguments: floatVariantsHere, [RoPELayout.adjacentPairs, .neox])
    func ropeMatchesDirectFormulaAndInverseUndoesIt(variant: FloatKernelVariant, layout: RoPELayout) throws {
        var rng = KernelTestRandom(seed: 24)
        let positions: [Int32] = [0, 5, 1000]
        for (headDim, rot) in [(8, 8), (12, 8), (64, 64), (6, 6), (40, 34)] {
            let heads = 2
            let x = rng.floats(positions.count * heads * headDim)
            var y = x
            try positions.withUnsafeBufferPointer { p in
                try y.withUnsafeMutableBufferPointer {
                    try FloatKernels.rope($0, heads: heads, headDim: headDim, rotatedDims: rot, positions: p,
                                          freqBase: 10000, layout: layout, variant: variant)
                }
            }
            let ref = referenceRope(x, positions: positions, heads: heads, headDim: headDim, rot: rot, base: 10000, layout: layout)
            #expect(zip(y, ref).allSatisfy { abs(Double($0) - $1) <= 1e-5 }, "\(variant) \(layout) dim=\(headDim) rot=\(rot)")
            try positions.withUnsafeBufferPointer { p in
                try y.withUnsafeMutableBufferPointer {
                    try FloatKernels.rope($0, heads: heads, headDim: headDim, rotatedDims: rot, positions: p,
                                          freqBase: 10000, layout: layout, inverse: true, variant: variant)
                }
            }
            #expect(allClose(y, x) { _ in 1e-5 }, "inverse \(variant) \(layout) dim=\(headDim)")
        }
    }

    @Test func ropeRejectsOddOrOversizedRotation() {
        var x = [Float](repeating: 1, count: 8)
        let p: [Int32] = [1]
        for rot in [3, 10, 0] {
            #expect(throws: FloatKernelError.self) {
                try p.withUnsafeBufferPointer { pp in
                    try x.withUnsafeMutableBufferPointer {
                        try FloatKernels.rope($0, heads: 1, headDim: 8, rotatedDims: rot, positions: pp, freqBase: 10000, layout: .neox)
                    }
                }
            }
        }
    }

    @Test(arguments: floatVariantsHere, [FFNActivation.silu, .relu2])
    func activationsMatchFormulas(variant: FloatKernelVariant, activation: FFNActivation) throws {
        var rng = KernelTestRandom(seed: 25)
        let x = rng.floats(37, scale: 20) + [0, -100, 100, 88.5, -88.5]
        let up = rng.floats(x.count)
        func f(_ v: Double) -> Double { activation == .silu ? v / (1 + exp(-v)) : (v > 0 ? v * v : 0) }
        let y = try kernelOutput(count: x.count) { y in
            try x.withUnsafeBufferPointer { try FloatKernels.activate(activation, $0, into: y, variant: variant) }
        }
        let gated = try kernelOutput(count: x.count) { y in
            try x.withUnsafeBufferPointer { g in
                try up.withUnsafeBufferPointer { try FloatKernels.gated(activation, gate: g, up: $0, into: y, variant: variant) }
            }
        }
        for k in x.indices {
            let ref = f(Double(x[k]))
            #expect(abs(Double(y[k]) - ref) <= 2e-6 * abs(ref) + 1e-6, "\(variant) x=\(x[k])")
            #expect(abs(Double(gated[k]) - ref * Double(up[k])) <= 2e-6 * abs(ref * Double(up[k])) + 1e-6)
        }
    }

    @Test func rowOperationsRejectMismatchedBuffers() {
        let x = [Float](repeating: 1, count: 10)
        var y = [Float](repeating: 0, count: 9)
        #expect(throws: FloatKernelError.self) {
            try x.withUnsafeBufferPointer { xp in try y.withUnsafeMutableBufferPointer { try FloatKernels.softmax(xp, columns: 5, into: $0) } }
        }
        #expect(throws: FloatKernelError.self) {
            try x.withUnsafeBufferPointer { xp in try y.withUnsafeMutableBufferPointer { try FloatKernels.rmsNorm(xp, weight: nil, rowLength: 3, eps: 1e-5, into: $0) } }
        }
        #expect(throws: FloatKernelError.self) {
            try x.withUnsafeBufferPointer { xp in try y.withUnsafeMutableBufferPointer { try FloatKernels.activate(.silu, xp, into: $0) } }
        }
        var same = x
        #expect(throws: FloatKernelError.self) {
            try x.withUnsafeBufferPointer { xp in try same.withUnsafeMutableBufferPointer { try FloatKernels.rmsNorm(xp, weight: nil, rowLength: 5, eps: -1, into: $0) } }
        }
    }
}

/// `tern_gemm_t_acc_f` continues a transposed product: paged attention multiplies
/// probabilities by values one KV block at a time and must get the bits of one product over
/// contiguous values, in every variant.
@Suite("Accumulating transposed GEMM")
struct AccumulatingGemmTests {
    @Test(arguments: floatVariantsHere)
    func blockByBlockEqualsOneProduct(variant: FloatKernelVariant) {
        var rng = KernelTestRandom(seed: 17)
        for (n, out, inner, split) in [(1, 16, 64, 16), (12, 50, 128, 16), (3, 37, 9, 5), (4, 64, 70, 32)] {
            var g = rng.floats(n * out), w = rng.floats(out * inner)
            g[0] = 0
            var whole = [Float](repeating: 0, count: n * inner)
            var blocks = [Float](repeating: 0, count: n * inner)
            let c = tern_float_variant(rawValue: UInt32(variant.rawValue))
            #expect(tern_gemm_t_f(nil, c, TERN_F32, &g, n, out, &w, inner, &whole) == 0)
            var part = [Float](repeating: 0, count: n * split)
            for start in stride(from: 0, to: out, by: split) {
                let rows = min(split, out - start)
                for i in 0..<n { for o in 0..<rows { part[i * rows + o] = g[i * out + start + o] } }
                let status = w.withUnsafeBufferPointer { wp in
                    tern_gemm_t_acc_f(nil, c, &part, n, rows, wp.baseAddress! + start * inner, inner, &blocks)
                }
                #expect(status == 0)
            }
            #expect(blocks == whole, "\(variant) n=\(n) out=\(out) in=\(inner) split=\(split)")
        }
    }
}
