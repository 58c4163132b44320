import Foundation
import TernKernels

/// Deterministic xorshift generator so every test run sees the same data.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
    mutating func trit() -> Float { Float(Int(next() % 3) - 1) }
    mutating func uniform(_ range: ClosedRange<Float>) -> Float {
        range.lowerBound + (range.upperBound - range.lowerBound) * Float(next() % 1_000_001) / 1_000_000
    }
}

/// A rows x cols ternary matrix with values scale x {-1, 0, +1}, built through TQ2_0 bytes
/// (scale 0.5 is exact in fp16, so the engine holds exactly these values).
func ternaryMatrix(rows: Int, cols: Int, seed: UInt64, fill: Float? = nil) throws -> (TernaryMatrix, [Float]) {
    var rng = TestRandom(seed: seed)
    let values = (0..<rows * cols).map { _ in 0.5 * (fill ?? rng.trit()) }
    let bytes = try TernaryEncoding.tq2_0.encode(values, rows: rows, cols: cols)
    return (try TernaryMatrix.repacking(bytes, encoding: .tq2_0, rows: rows, cols: cols), values)
}

func randomActivations(tokens: Int, cols: Int, seed: UInt64) -> [Float] {
    var rng = TestRandom(seed: seed)
    return (0..<tokens * cols).map { _ in rng.uniform(-8...8) }
}

/// The product computed directly from the decoded weights and int8 values, rounded the way
/// the engine documents: ((dot * rowScale) * dequant).
func referenceProduct(_ w: TernaryMatrix, _ x: QuantizedActivations) -> [Float] {
    var y = [Float](repeating: 0, count: x.tokens * w.rows)
    for r in 0..<w.rows {
        let row = w.values(row: r)
        let scale = w.scale(row: r)
        for t in 0..<x.tokens {
            let q = x.values(token: t)
            var dot = 0
            for k in 0..<w.cols where scale != 0 { dot += Int((row[k] / scale).rounded()) * Int(q[k]) }
            y[t * w.rows + r] = (Float(dot) * scale) * x.dequantizationScale(token: t)
        }
    }
    return y
}

func fixture(_ name: String) throws -> Data {
    guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "Fixtures/\(name)"])
    }
    return try Data(contentsOf: url)
}
