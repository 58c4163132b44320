import Testing
import TernKernels

@Suite struct TernaryKernelTests {
    static let shapes: [(rows: Int, cols: Int, tokens: Int)] = [
        (1, 1, 1), (7, 5, 1), (33, 300, 1), (17, 321, 3), (40, 640, 5), (19, 1000, 9), (64, 256, 4), (3, 2560, 2), (70, 700, 17), (45, 1300, 2),
    ]

    @Test func scalarMatchesDirectComputation() throws {
        for (i, s) in Self.shapes.enumerated() {
            let (w, _) = try ternaryMatrix(rows: s.rows, cols: s.cols, seed: UInt64(i + 1))
            let x = try QuantizedActivations(randomActivations(tokens: s.tokens, cols: s.cols, seed: UInt64(i + 100)),
                                             tokens: s.tokens, cols: s.cols)
            #expect(try w.gemm(x, variant: .scalar) == referenceProduct(w, x), "shape \(s)")
        }
    }

    @Test(arguments: KernelVariant.available)
    func variantMatchesScalarOnRaggedShapes(variant: KernelVariant) throws {
        let pool = ThreadPool(threads: 2)
        for (i, s) in Self.shapes.enumerated() {
            let (w, _) = try ternaryMatrix(rows: s.rows, cols: s.cols, seed: UInt64(i + 1))
            let x = try QuantizedActivations(randomActivations(tokens: s.tokens, cols: s.cols, seed: UInt64(i + 100)),
                                             tokens: s.tokens, cols: s.cols)
            let expected = try w.gemm(x, variant: .scalar)
            #expect(try w.gemm(x, pool: pool, variant: variant) == expected, "shape \(s)")
            let one = try QuantizedActivations(randomActivations(tokens: 1, cols: s.cols, seed: UInt64(i + 7)), tokens: 1, cols: s.cols)
            var y = [Float](repeating: 0, count: s.rows)
            try y.withUnsafeMutableBufferPointer { try w.gemv(one, into: $0, pool: pool, variant: variant) }
            #expect(y == (try w.gemm(one, variant: .scalar)), "gemv shape \(s)")
        }
    }

    @Test(arguments: KernelVariant.available)
    func variantMatchesScalarOnEdgeValues(variant: KernelVariant) throws {
        let extreme: [Float] = (0..<6 * 700).map { i in [1e30, -1e30, 0, 127, -0.001][i % 5] }
        let zeros = [Float](repeating: 0, count: 2 * 700)
        for fill: Float? in [-1, 1, 0, nil] {
            let (w, _) = try ternaryMatrix(rows: 21, cols: 700, seed: 5, fill: fill)
            for (acts, tokens) in [(extreme, 6), (zeros, 2), (Array(extreme.prefix(700)), 1)] {
                let x = try QuantizedActivations(acts, tokens: tokens, cols: 700)
                let expected = referenceProduct(w, x)
                #expect(try w.gemm(x, variant: variant) == expected, "weights \(String(describing: fill)), \(tokens) tokens")
            }
        }
    }

    @Test(arguments: KernelVariant.available)
    func longRowsOfExtremeValuesStayExact(variant: KernelVariant) throws {
        // Largest codes times largest activations over 1.4 M columns: the raw-byte AVX-512
        // GEMV's int32 lanes would wrap without its periodic lane folds; the result must be
        // exact for 1, 2, 3 and 8 tokens (each has its own register blocking; from 3 tokens
        // the AVX-512 GEMV decodes the codes first and folds nothing).
        let cols = 1_400_000
        for fill: Float in [1, -1] {
            let (w, _) = try ternaryMatrix(rows: 2, cols: cols, seed: 18, fill: fill)
            for tokens in [1, 2, 3, 8] {
                let x = try QuantizedActivations([Float](repeating: 5, count: tokens * cols), tokens: tokens, cols: cols)
                let expected = Float(fill) * 0.5 * Float(127 * cols) * (5 / 127)
                let y = try w.gemm(x, variant: variant)
                #expect(y == referenceProduct(w, x), "\(tokens) tokens")
                #expect(abs(y[0] - expected) <= 1e-3 * abs(expected))
            }
        }
    }

    /// Q, K and V (or gate and up) through one fused call: the bits of separate calls, at
    /// every token count either side of the GEMV/GEMM switch.
    @Test(arguments: KernelVariant.available)
    func fusedProductsEqualSeparateOnes(variant: KernelVariant) throws {
        let pool = ThreadPool(threads: 2)
        let matrices = try [(70, 300), (33, 300), (5, 300)].enumerated().map { try ternaryMatrix(rows: $1.0, cols: $1.1, seed: UInt64(40 + $0)).0 }
        for tokens in [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 32, 33, 64, 65] {
            let x = try QuantizedActivations(randomActivations(tokens: tokens, cols: 300, seed: UInt64(tokens)), tokens: tokens, cols: 300)
            let outputs = matrices.map { UnsafeMutableBufferPointer<Float>.allocate(capacity: tokens * $0.rows) }
            defer { outputs.forEach { $0.deallocate() } }
            outputs.forEach { $0.initialize(repeating: .nan) }
            try TernaryMatrix.gemm(matrices, x, into: outputs, pool: pool, variant: variant)
            for (w, output) in zip(matrices, outputs) {
                #expect(Array(output) == (try w.gemm(x, variant: .scalar)), "\(w.rows) rows, \(tokens) tokens")
            }
        }
    }

    @Test func resultsAreIdenticalForAnyThreadCount() throws {
        let (w, _) = try ternaryMatrix(rows: 150, cols: 900, seed: 9)
        var results: [[Float]] = []
        var transposed: [[Float]] = []
        let g = randomActivations(tokens: 3, cols: 150, seed: 10)
        for threads in [1, 2, 3, 4] {
            let pool = ThreadPool(threads: threads)
            var out: [Float] = []
            for tokens in [1, 5] {
                let x = try QuantizedActivations(randomActivations(tokens: tokens, cols: 900, seed: 11), tokens: tokens, cols: 900)
                out += try w.gemm(x, pool: pool)
            }
            results.append(out)
            transposed.append(try w.transposedProduct(g, tokens: 3, pool: pool))
        }
        #expect(results.allSatisfy { $0 == results[0] })
        #expect(transposed.allSatisfy { $0 == transposed[0] })
    }

    @Test func transposedProductMatchesDirectSum() throws {
        let (rows, cols, tokens) = (37, 700, 3)
        let (w, values) = try ternaryMatrix(rows: rows, cols: cols, seed: 12)
        let g = randomActivations(tokens: tokens, cols: rows, seed: 13)
        let dx = try w.transposedProduct(g, tokens: tokens, pool: ThreadPool(threads: 2))
        for t in 0..<tokens {
            for k in 0..<cols {
                var expected: Float = 0
                for r in 0..<rows { expected += values[r * cols + k] * g[t * rows + r] }
                #expect(dx[t * cols + k] == expected, "token \(t) col \(k)")
            }
        }
    }

    @Test(arguments: KernelVariant.available)
    func readingTQ2_0DirectlyAgreesWithTheEngine(variant: KernelVariant) throws {
        let (rows, cols, tokens) = (24, 6 * 256 + 40, 3)
        var rng = TestRandom(seed: 14)
        let values = (0..<rows * cols).map { _ in 0.5 * rng.trit() }
        let bytes = try TernaryEncoding.tq2_0.encode(values, rows: rows, cols: cols)
        let engine = try TernaryMatrix.repacking(bytes, encoding: .tq2_0, rows: rows, cols: cols)
        let x = try QuantizedActivations(randomActivations(tokens: tokens, cols: cols, seed: 15), tokens: tokens, cols: cols)
        let expected = try engine.gemm(x, variant: .scalar)
        var y = [Float](repeating: 0, count: rows * tokens)
        try bytes.withUnsafeBytes { raw in
            let tq2 = try TernaryTQ2Matrix(bytes: raw, rows: rows, cols: cols, owner: nil)
            try y.withUnsafeMutableBufferPointer { try tq2.gemm(x, into: $0, variant: variant) }
        }
        for i in 0..<y.count { #expect(abs(y[i] - expected[i]) <= 1e-5 * max(1, abs(expected[i]))) }
    }

    @Test func activationQuantizationIsAbsmaxPerToken() throws {
        let x = try QuantizedActivations([1, -2, 0.5, 0, 0, 0, 0, 0], tokens: 2, cols: 4)
        #expect(x.values(token: 0) == [64, -127, 32, 0])   // 63.5 rounds to even
        #expect(x.sum(token: 0) == -31)
        #expect(x.dequantizationScale(token: 0) == Float(2) / 127)
        #expect(x.values(token: 1) == [0, 0, 0, 0])
        #expect(x.dequantizationScale(token: 1) == 0)
    }

    /// The int16 split: the hi rows are exactly the int8 quantization, hi + lo rebuilds x to
    /// within half a lo step, and a product over both halves is ~100× closer to the float
    /// product than the int8 one.
    @Test func int16SplitCarriesTheRoundingResidual() throws {
        let tokens = 3, cols = 700
        let values = randomActivations(tokens: tokens, cols: cols, seed: 21)
        let int8 = try QuantizedActivations(values, tokens: tokens, cols: cols)
        let split = QuantizedActivations(tokens: 2 * tokens, cols: cols)
        try values.withUnsafeBufferPointer { try split.quantizeSplit($0) }
        for t in 0..<tokens {
            #expect(split.values(token: t) == int8.values(token: t))
            #expect(split.sum(token: t) == int8.sum(token: t))
            #expect(split.dequantizationScale(token: t) == int8.dequantizationScale(token: t))
            let hi = split.values(token: t), lo = split.values(token: tokens + t)
            let dHi = split.dequantizationScale(token: t), dLo = split.dequantizationScale(token: tokens + t)
            #expect(dLo > 0 && dLo <= dHi / 2 * 1.0001)
            #expect(split.sum(token: tokens + t) == lo.reduce(0) { $0 + Int32($1) })
            var worst: Float = 0
            for k in 0..<cols { worst = max(worst, abs(Float(hi[k]) * dHi + Float(lo[k]) * dLo - values[t * cols + k])) }
            #expect(worst <= dLo * 0.5001)
        }

        let (w, weights) = try ternaryMatrix(rows: 40, cols: cols, seed: 22)
        let y8 = try w.gemm(int8), halves = try w.gemm(split)
        var error8: Float = 0, error16: Float = 0
        for t in 0..<tokens {
            for r in 0..<w.rows {
                var exact: Float = 0
                for k in 0..<cols { exact += weights[r * cols + k] * values[t * cols + k] }
                error8 = max(error8, abs(y8[t * w.rows + r] - exact))
                error16 = max(error16, abs(halves[t * w.rows + r] + halves[(tokens + t) * w.rows + r] - exact))
            }
        }
        #expect(error16 * 100 < error8, "int16 error \(error16), int8 error \(error8)")
        #expect(throws: TensorShapeError.self) { try values.withUnsafeBufferPointer { try QuantizedActivations(tokens: 3, cols: cols).quantizeSplit($0) } }
    }

    @Test func shapeMismatchesThrowNamingTheShapes() throws {
        let (w, _) = try ternaryMatrix(rows: 8, cols: 300, seed: 16)
        let wrongCols = try QuantizedActivations([Float](repeating: 1, count: 299), tokens: 1, cols: 299)
        let error = #expect(throws: TensorShapeError.self) { try w.gemm(wrongCols) }
        #expect(error?.description.contains("8x300") == true)
        #expect(error?.description.contains("1x299") == true)
        let two = try QuantizedActivations([Float](repeating: 1, count: 600), tokens: 2, cols: 300)
        var y = [Float](repeating: 0, count: 8)
        #expect(throws: TensorShapeError.self) { try y.withUnsafeMutableBufferPointer { try w.gemv(two, into: $0) } }
        #expect(throws: TensorShapeError.self) { try y.withUnsafeMutableBufferPointer { try w.gemm(two, into: $0) } }
        #expect(throws: TensorShapeError.self) { try w.transposedProduct([1, 2, 3], tokens: 1) }
        #expect(throws: TensorShapeError.self) { try QuantizedActivations([1, 2, 3], tokens: 2, cols: 2) }
    }

    @Test func unavailableVariantIsReported() throws {
        let (w, _) = try ternaryMatrix(rows: 2, cols: 10, seed: 17)
        let x = try QuantizedActivations([Float](repeating: 1, count: 10), tokens: 1, cols: 10)
        for variant in KernelVariant.allCases where !variant.isAvailable {
            #expect(throws: TernaryError.variantUnavailable(variant)) { try w.gemm(x, variant: variant) }
        }
        #expect(KernelVariant.best.isAvailable)
    }
}
