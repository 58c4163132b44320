import TernKernels

/// The small dense float products of training (LoRA factors times activations, their
/// gradients), run through the engine's float kernels on a `FloatMatrix` view of the
/// caller's buffer: nothing is copied and every product is multi-threaded and SIMD.
enum DenseMath {
    /// Y[n×rows] = X[n×cols] · Mᵀ, with M rows×cols row-major.
    static func multiply(_ x: UnsafeBufferPointer<Float>, tokens n: Int,
                         byTransposeOf m: UnsafeBufferPointer<Float>, rows: Int, cols: Int,
                         into y: UnsafeMutableBufferPointer<Float>, pool: ThreadPool?) throws {
        let w = try FloatMatrix(elementType: .f32, rows: rows, cols: cols, bytes: UnsafeRawBufferPointer(m))
        try FloatKernels.matmul(x, rows: n, weights: w, into: y, pool: pool)
    }

    /// Y[n×cols] = G[n×rows] · M, with M rows×cols row-major.
    static func multiply(_ g: UnsafeBufferPointer<Float>, tokens n: Int,
                         by m: UnsafeBufferPointer<Float>, rows: Int, cols: Int,
                         into y: UnsafeMutableBufferPointer<Float>, pool: ThreadPool?) throws {
        let w = try FloatMatrix(elementType: .f32, rows: rows, cols: cols, bytes: UnsafeRawBufferPointer(m))
        try FloatKernels.matmulTransposed(g, rows: n, weights: w, into: y, pool: pool)
    }

    /// y = xᵀ for x rows×cols row-major.
    static func transpose(_ x: UnsafeBufferPointer<Float>, rows: Int, cols: Int, into y: UnsafeMutableBufferPointer<Float>) {
        for r in 0..<rows {
            for c in 0..<cols { y[c * rows + r] = x[r * cols + c] }
        }
    }

    /// y += x elementwise.
    static func add(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
        let xp = x.baseAddress!, yp = y.baseAddress!
        for i in 0..<y.count { yp[i] += xp[i] }
    }
}

/// A float buffer owned by the training graph: allocated once, zeroed, freed on deinit.
final class TrainingBuffer {
    let values: UnsafeMutableBufferPointer<Float>

    init(count: Int) {
        values = .allocate(capacity: max(count, 1))
        values.initialize(repeating: 0)
    }

    deinit { values.deallocate() }

    var count: Int { values.count }

    /// The first `count` values (a batch shorter than the buffer's capacity).
    func prefix(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: values[0..<count])
    }
}
