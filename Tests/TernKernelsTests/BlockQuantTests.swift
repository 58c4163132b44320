import CTernary
import Foundation
import Testing
import TernKernels

private func blockQuantFixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
    return [UInt8](try Data(contentsOf: url))
}

private func floats(_ bytes: [UInt8]) -> [Float] {
    stride(from: 0, to: bytes.count, by: 4).map {
        Float(bitPattern: UInt32(bytes[$0]) | UInt32(bytes[$0 + 1]) << 8 | UInt32(bytes[$0 + 2]) << 16 | UInt32(bytes[$0 + 3]) << 24)
    }
}

private let fixtureNames: [BlockQuantFormat: String] = [.q8_0: "q8_0", .q4_0: "q4_0", .q4_1: "q4_1", .q4_K: "q4_k", .q6_K: "q6_k"]

/// Random but valid blocks: random code bytes, small finite f16 scales.
func randomBlocks(_ format: BlockQuantFormat, rows: Int, cols: Int, rng: inout KernelTestRandom) throws -> [UInt8] {
    let blocks = rows * cols / format.blockElements
    var bytes = (0..<(blocks * format.blockBytes)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    let scaleOffsets: [Int] = switch format {
    case .q8_0, .q4_0: [0]
    case .q4_1, .q4_K: [0, 2]
    case .q6_K: [208]
    }
    for b in 0..<blocks { for off in scaleOffsets {
        let h = tern_f32_to_f16(rng.float(0.01))
        bytes[b * format.blockBytes + off] = UInt8(h & 0xFF)
        bytes[b * format.blockBytes + off + 1] = UInt8(h >> 8)
    } }
    return bytes
}

@Suite("Block-quantized formats")
struct BlockQuantFormatTests {
    @Test(arguments: BlockQuantFormat.allCases)
    func dequantizationIsBitExactWithGGUFPy(format: BlockQuantFormat) throws {
        let name = try #require(fixtureNames[format])
        let blocks = try blockQuantFixture("\(name).blocks"), expected = floats(try blockQuantFixture("\(name).f32"))
        let rows = blocks.count / format.blockBytes
        let matrix = try BlockQuantMatrix(format: format, rows: rows, cols: format.blockElements, copying: blocks)
        let values = try kernelOutput(count: expected.count) { try matrix.dequantizeRows(0..<rows, into: $0) }
        #expect(values.map(\.bitPattern) == expected.map(\.bitPattern))
        let direct = try kernelOutput(count: expected.count) { out in
            try blocks.withUnsafeBytes { try BlockQuantKernels.dequantize(format, bytes: $0, into: out) }
        }
        #expect(direct.map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(try matrix.row(rows - 1).map(\.bitPattern) == Array(expected.suffix(format.blockElements)).map(\.bitPattern))
    }

    @Test func q8_0QuantizationIsBitExactWithGGUFPy() throws {
        let input = floats(try blockQuantFixture("q8_0-quantize.input.f32"))
        let expected = try blockQuantFixture("q8_0-quantize.blocks")
        let blocks = try input.withUnsafeBufferPointer { try BlockQuantKernels.quantizeQ8_0($0) }
        #expect(blocks == expected)
    }

    @Test func blockSizesAreGGMLs() {
        #expect(BlockQuantFormat.allCases.map(\.blockBytes) == [18, 20, 34, 144, 210])
        #expect(BlockQuantFormat.allCases.map(\.blockElements) == [32, 32, 32, 256, 256])
        #expect(BlockQuantFormat(ggmlType: 14) == .q6_K && BlockQuantFormat(ggmlType: 1) == nil)
    }

    @Test func wrongByteCountsAndRaggedRowsAreRejected() {
        let bytes = [UInt8](repeating: 0, count: 20 * 3)
        bytes.withUnsafeBytes { raw in
            #expect(throws: FloatKernelError.byteCountMismatch(shape: "2×64", format: "Q4_1", expected: 80, byteCount: 60)) {
                _ = try BlockQuantMatrix(format: .q4_1, rows: 2, cols: 64, bytes: raw)
            }
            #expect(throws: FloatKernelError.self) { _ = try BlockQuantMatrix(format: .q4_1, rows: 1, cols: 60, bytes: raw) }
            #expect(throws: FloatKernelError.self) {
                var out = [Float](repeating: 0, count: 64)
                try out.withUnsafeMutableBufferPointer { try BlockQuantKernels.dequantize(.q4_1, bytes: raw, into: $0) }
            }
        }
        #expect(throws: FloatKernelError.self) {
            let m = try BlockQuantMatrix(format: .q4_1, rows: 3, cols: 32, copying: bytes)
            _ = try m.row(3)
        }
    }
}

@Suite("Block-quantized matmul")
struct BlockQuantMatmulTests {
    private static let shapes: [(n: Int, inner: Int, out: Int)] = [(1, 256, 1), (3, 256, 17), (2, 512, 37), (1, 768, 40), (7, 256, 9)]

    /// Activations as the kernel sees them after int8 quantization.
    private func quantizedActivations(_ x: [Float], inner: Int) -> [Float] {
        var out = [Float]()
        for row in stride(from: 0, to: x.count, by: inner) {
            var blocks = [tern_q8_act](repeating: tern_q8_act(), count: inner / 32)
            x[row..<(row + inner)].withContiguousStorageIfAvailable { tern_quantize_q8_act($0.baseAddress, inner, &blocks) }
            for b in blocks {
                withUnsafeBytes(of: b.q) { q in out += q.map { Float(Int8(bitPattern: $0)) * b.d } }
            }
        }
        return out
    }

    @Test(arguments: quantVariantsHere, BlockQuantFormat.allCases)
    func matmulMatchesFloatProductOfDequantizedWeights(variant: FloatKernelVariant, format: BlockQuantFormat) throws {
        var rng = KernelTestRandom(seed: 31)
        for (n, inner, out) in Self.shapes {
            let w = try BlockQuantMatrix(format: format, rows: out, cols: inner,
                                         copying: randomBlocks(format, rows: out, cols: inner, rng: &rng))
            let dense = try kernelOutput(count: out * inner) { try w.dequantizeRows(0..<out, into: $0) }
            let x = rng.floats(n * inner)
            let xq = quantizedActivations(x, inner: inner)
            let y = try kernelOutput(count: n * out) { y in
                try x.withUnsafeBufferPointer { try BlockQuantKernels.matmul($0, rows: n, weights: w, into: y, variant: variant) }
            }
            var exact = true, close = true
            for i in 0..<n { for j in 0..<out {
                var withQuantX = 0.0, withFloatX = 0.0, mag = 0.0
                for k in 0..<inner {
                    let wv = Double(dense[j * inner + k])
                    withQuantX += wv * Double(xq[i * inner + k]); withFloatX += wv * Double(x[i * inner + k])
                    mag += abs(wv * Double(x[i * inner + k]))
                }
                let v = Double(y[i * out + j])
                exact = exact && abs(v - withQuantX) <= 1e-5 * mag + 1e-12   // integer dots are exact
                close = close && abs(v - withFloatX) <= 2e-2 * mag + 1e-12    // int8 activations: ~0.4% each
            } }
            #expect(exact, "\(variant) \(format) n=\(n) in=\(inner) out=\(out): differs from quantized-activation product")
            #expect(close, "\(variant) \(format) n=\(n) in=\(inner) out=\(out): far from the float product")
        }
    }

    @Test(arguments: BlockQuantFormat.allCases)
    func transposedMatchesDequantizedFloatProduct(format: BlockQuantFormat) throws {
        var rng = KernelTestRandom(seed: 32)
        let (n, inner, out) = (3, 768, 21)
        let w = try BlockQuantMatrix(format: format, rows: out, cols: inner, copying: randomBlocks(format, rows: out, cols: inner, rng: &rng))
        let dense = try FloatMatrix(rows: out, cols: inner, values: try kernelOutput(count: out * inner) { try w.dequantizeRows(0..<out, into: $0) })
        let g = rng.floats(n * out)
        for variant in floatVariantsHere {
            let viaQuant = try kernelOutput(count: n * inner) { dx in
                try g.withUnsafeBufferPointer { try BlockQuantKernels.matmulTransposed($0, rows: n, weights: w, into: dx, variant: variant) }
            }
            let viaFloat = try kernelOutput(count: n * inner) { dx in
                try g.withUnsafeBufferPointer { try FloatKernels.matmulTransposed($0, rows: n, weights: dense, into: dx, variant: variant) }
            }
            #expect(viaQuant == viaFloat, "\(variant) \(format)")
        }
    }

    @Test(arguments: [BlockQuantFormat.q4_1, .q6_K])
    func resultsAreIdenticalForAnyThreadCount(format: BlockQuantFormat) throws {
        var rng = KernelTestRandom(seed: 33)
        let (n, inner, out) = (3, 512, 67)
        let w = try BlockQuantMatrix(format: format, rows: out, cols: inner, copying: randomBlocks(format, rows: out, cols: inner, rng: &rng))
        let x = rng.floats(n * inner), g = rng.floats(n * out)
        func run(_ pool: ThreadPool?) throws -> [Float] {
            let y = try kernelOutput(count: n * out) { y in
                try x.withUnsafeBufferPointer { try BlockQuantKernels.matmul($0, rows: n, weights: w, into: y, pool: pool) }
            }
            let dx = try kernelOutput(count: n * inner) { dx in
                try g.withUnsafeBufferPointer { try BlockQuantKernels.matmulTransposed($0, rows: n, weights: w, into: dx, pool: pool) }
            }
            return y + dx
        }
        let single = try run(nil)
        #expect(try run(ThreadPool(threads: 1)) == single)
        #expect(try run(ThreadPool(threads: 3)) == single)
    }

    /// Prefill (many rows at once) must give the same logits as decode: 7 rows go through
    /// the 4-, 2- and 1-row kernels, and each row must get the bits it gets alone.
    @Test(arguments: quantVariantsHere, BlockQuantFormat.allCases)
    func aRowGivesTheSameBitsAloneOrInABatch(variant: FloatKernelVariant, format: BlockQuantFormat) throws {
        var rng = KernelTestRandom(seed: 34)
        let (n, inner, out) = (7, 512, 5)
        let w = try BlockQuantMatrix(format: format, rows: out, cols: inner, copying: randomBlocks(format, rows: out, cols: inner, rng: &rng))
        let x = rng.floats(n * inner)
        let batch = try kernelOutput(count: n * out) { y in
            try x.withUnsafeBufferPointer { try BlockQuantKernels.matmul($0, rows: n, weights: w, into: y, variant: variant) }
        }
        for i in 0..<n {
            let single = try kernelOutput(count: out) { y in
                try x[(i * inner)..<((i + 1) * inner)].withUnsafeBufferPointer {
                    try BlockQuantKernels.matmul($0, rows: 1, weights: w, into: y, variant: variant)
                }
            }
            #expect(single == Array(batch[(i * out)..<((i + 1) * out)]), "\(variant) \(format) row \(i)")
        }
    }

    @Test func matmulRejectsMismatchedActivations() throws {
        let w = try BlockQuantMatrix(format: .q8_0, rows: 2, cols: 64, copying: [UInt8](repeating: 0, count: 2 * 2 * 34))
        let x = [Float](repeating: 1, count: 63)
        var y = [Float](repeating: 0, count: 2)
        #expect {
            try x.withUnsafeBufferPointer { xp in try y.withUnsafeMutableBufferPointer { try BlockQuantKernels.matmul(xp, rows: 1, weights: w, into: $0) } }
        } throws: { "\($0)".contains("1×64") && "\($0)".contains("63 values") && "\($0)".contains("Q8_0") }
    }
}
