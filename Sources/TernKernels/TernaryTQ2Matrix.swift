import CTernary

/// A TQ2_0 tensor used in place, without repacking: the product reads the 66-byte blocks
/// directly (as llama.cpp does). Slower than `TernaryMatrix`; it exists so benchmarks can
/// show what repacking gains. The bytes are viewed, not copied: `owner` keeps them alive.
public struct TernaryTQ2Matrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    let bytes: UnsafeRawBufferPointer
    let owner: AnyObject?

    public init(bytes: UnsafeRawBufferPointer, rows: Int, cols: Int, owner: AnyObject?) throws {
        try TernaryEncoding.tq2_0.checkSize(bytes.count, rows: rows, cols: cols)
        self.bytes = bytes
        self.rows = rows
        self.cols = cols
        self.owner = owner
    }

    /// y[t*rows + r] = Σ_blocks d·(block dot) · (1/s_t). `y` holds tokens x rows floats.
    public func gemm(_ x: QuantizedActivations, into y: UnsafeMutableBufferPointer<Float>,
                     pool: ThreadPool? = nil, variant: KernelVariant = .best) throws {
        try TensorShapeError.check("TQ2_0 \(rows)x\(cols) weights times activations of \(x.tokens)x\(x.cols): cols",
                                   expected: cols, actual: x.cols)
        try TensorShapeError.check("output of TQ2_0 \(rows)x\(cols) weights for \(x.tokens) tokens",
                                   expected: x.tokens * rows, actual: y.count)
        let v = try variant.checked()
        var a = x.raw
        withExtendedLifetime(owner) {
            tern_tq2_0_matmul(v, pool?.raw, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), rows, cols, &a, y.baseAddress)
        }
    }
}
