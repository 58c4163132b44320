import CTernary

/// A ternary weight matrix (rows = outputs, cols = inputs) in the engine's T5 layout:
/// 5 trits per byte (1.6 bits per weight), rows padded to 320 columns, one float scale per
/// row. Built once at load time by repacking TQ2_0 / TQ1_0 / I2_S bytes; the kernels then
/// read it in place. See docs/kernels.md for the byte layout.
public final class TernaryMatrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    /// Bytes of one packed row.
    public let rowBytes: Int
    /// The packed rows, then one Float scale per row: the whole matrix, as the layout cache
    /// stores it. Never written after init.
    public let bytes: UnsafeRawBufferPointer
    /// Keeps `bytes` alive: the `TensorStorage` a repack wrote, or a mapped cache file.
    private let owner: AnyObject

    /// Bytes a rows x cols matrix takes (packed rows and scales).
    public static func byteCount(rows: Int, cols: Int) -> Int {
        rows * (tern_t5_row_bytes(cols) + MemoryLayout<Float>.size)
    }

    private init(rows: Int, cols: Int, storage: TensorStorage) {
        self.rows = rows
        self.cols = cols
        rowBytes = tern_t5_row_bytes(cols)
        bytes = UnsafeRawBufferPointer(storage.bytes)
        owner = storage
    }

    /// Repacks a tensor stored in a public encoding (e.g. a slice of an mmapped GGUF file),
    /// its rows spread over `pool`; the result is the same for any thread count. Throws if
    /// the byte count does not fit rows x cols, or if a TQ row mixes block scales.
    public convenience init(encoding: TernaryEncoding, bytes: UnsafeRawBufferPointer, rows: Int, cols: Int,
                            pool: ThreadPool? = nil) throws {
        try encoding.checkSize(bytes.count, rows: rows, cols: cols)
        let storage = TensorStorage(byteCount: Self.byteCount(rows: rows, cols: cols))
        self.init(rows: rows, cols: cols, storage: storage)
        let src = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let dst = storage.pointer.assumingMemoryBound(to: UInt8.self)
        let scales = (storage.pointer + rows * rowBytes).assumingMemoryBound(to: Float.self)
        let badRow: Int
        switch encoding {
        case .tq2_0: badRow = tern_repack_tq2_0(pool?.raw, src, rows, cols, dst, scales)
        case .tq1_0: badRow = tern_repack_tq1_0(pool?.raw, src, rows, cols, dst, scales)
        case .i2s:
            tern_repack_i2s(pool?.raw, src, rows, cols, dst, scales)
            badRow = -1
        }
        if badRow >= 0 { throw TernaryError.mixedBlockScales(encoding: encoding, row: badRow) }
    }

    /// A matrix over T5 bytes already in memory (`bytes` of another matrix, e.g. in a mapped
    /// layout cache), kept alive by `owner`; nothing is copied. Throws unless `bytes` has
    /// exactly the size of a rows x cols matrix and starts on a 64-byte boundary.
    public init(packed bytes: UnsafeRawBufferPointer, rows: Int, cols: Int, owner: AnyObject) throws {
        try TensorShapeError.check("bytes of a \(rows)x\(cols) T5 matrix", expected: Self.byteCount(rows: rows, cols: cols),
                                   actual: bytes.count)
        try TensorShapeError.check("64-byte alignment of a \(rows)x\(cols) T5 matrix: remainder", expected: 0,
                                   actual: Int(bitPattern: bytes.baseAddress) % 64)
        self.rows = rows
        self.cols = cols
        rowBytes = tern_t5_row_bytes(cols)
        self.bytes = bytes
        self.owner = owner
    }

    public static func repacking(_ bytes: [UInt8], encoding: TernaryEncoding, rows: Int, cols: Int) throws -> TernaryMatrix {
        try bytes.withUnsafeBytes { try TernaryMatrix(encoding: encoding, bytes: $0, rows: rows, cols: cols) }
    }

    /// Bytes the packed weights and scales occupy in memory.
    public var byteCount: Int { bytes.count }

    /// An independent copy in new memory (benchmarks use copies to defeat the caches).
    public func copy() -> TernaryMatrix {
        let storage = TensorStorage(byteCount: bytes.count)
        storage.bytes.copyMemory(from: bytes)
        return TernaryMatrix(rows: rows, cols: cols, storage: storage)
    }

    private var packed: UnsafePointer<UInt8> { bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) }
    private var scales: UnsafePointer<Float> { (bytes.baseAddress! + rows * rowBytes).assumingMemoryBound(to: Float.self) }

    public func scale(row: Int) -> Float { scales[row] }

    /// The weights of one row as floats (scale x {-1, 0, +1}).
    public func values(row: Int) -> [Float] {
        var codes = [UInt8](repeating: 1, count: tern_t5_padded_cols(cols))
        tern_t5_unpack_row(packed + row * rowBytes, cols, &codes)
        return codes.prefix(cols).map { scales[row] * Float(Int($0) - 1) }
    }

    var raw: tern_t5_matrix {
        tern_t5_matrix(packed: packed, row_scales: scales, rows: rows, cols: cols)
    }

    // MARK: Products

    /// y = W·x for one token (decode). `y` holds `rows` floats.
    public func gemv(_ x: QuantizedActivations, into y: UnsafeMutableBufferPointer<Float>,
                     pool: ThreadPool? = nil, variant: KernelVariant = .best) throws {
        try TensorShapeError.check("gemv of \(rows)x\(cols) weights: tokens", expected: 1, actual: x.tokens)
        try gemm(x, into: y, pool: pool, variant: variant)
    }

    /// Y = W·X for every token: y[t*rows + r]. `y` holds tokens x rows floats. Results are
    /// identical for every variant and thread count.
    public func gemm(_ x: QuantizedActivations, into y: UnsafeMutableBufferPointer<Float>,
                     pool: ThreadPool? = nil, variant: KernelVariant = .best) throws {
        if x.cols != cols || y.count != x.tokens * rows { // messages are built only on a mismatch (a decode step calls this ~200 times)
            try TensorShapeError.check("\(rows)x\(cols) weights times activations of \(x.tokens)x\(x.cols): cols",
                                       expected: cols, actual: x.cols)
            try TensorShapeError.check("output of \(rows)x\(cols) weights for \(x.tokens) tokens", expected: x.tokens * rows, actual: y.count)
        }
        let v = try variant.checked()
        var w = raw, a = x.raw
        tern_t5_matmul(v, pool?.raw, &w, &a, y.baseAddress)
    }

    /// y_i = W_i·x for two to four matrices that read the same activations (Q, K and V; gate
    /// and up): the bits of separate `gemm` calls, but at decode sizes one pass of the pool
    /// over all their rows, so a layer waits for its threads once per shared input.
    public static func gemm(_ matrices: [TernaryMatrix], _ x: QuantizedActivations,
                            into outputs: [UnsafeMutableBufferPointer<Float>], pool: ThreadPool? = nil,
                            variant: KernelVariant = .best) throws {
        precondition(matrices.count == outputs.count && matrices.count <= Int(TERN_MATMUL_MANY_MAX))
        for (w, y) in zip(matrices, outputs) where x.cols != w.cols || y.count != x.tokens * w.rows {
            try TensorShapeError.check("\(w.rows)x\(w.cols) weights times activations of \(x.tokens)x\(x.cols): cols",
                                       expected: w.cols, actual: x.cols)
            try TensorShapeError.check("output of \(w.rows)x\(w.cols) weights for \(x.tokens) tokens",
                                       expected: x.tokens * w.rows, actual: y.count)
        }
        let v = try variant.checked()
        var a = x.raw
        var raws = matrices.map(\.raw)
        var ys = outputs.map { Optional($0.baseAddress!) }
        raws.withUnsafeMutableBufferPointer { raws in
            var pointers = (0..<raws.count).map { Optional(UnsafePointer(raws.baseAddress! + $0)) }
            tern_t5_matmul_many(v, pool?.raw, &pointers, &ys, raws.count, &a)
        }
    }

    public func gemm(_ x: QuantizedActivations, pool: ThreadPool? = nil, variant: KernelVariant = .best) throws -> [Float] {
        var y = [Float](repeating: 0, count: x.tokens * rows)
        try y.withUnsafeMutableBufferPointer { try gemm(x, into: $0, pool: pool, variant: variant) }
        return y
    }

    /// dx = Wᵀ·g for backpropagation: g is tokens x rows floats, dx is tokens x cols. g is
    /// not quantized (gradients span too many magnitudes for int8 absmax): float32 sums in
    /// row order, identical for any thread count.
    public func transposedProduct(_ g: UnsafeBufferPointer<Float>, tokens: Int, into dx: UnsafeMutableBufferPointer<Float>,
                                  pool: ThreadPool? = nil) throws {
        try TensorShapeError.check("gradient for \(rows)x\(cols) weights, \(tokens) tokens", expected: tokens * rows, actual: g.count)
        try TensorShapeError.check("Wᵀ·g output for \(rows)x\(cols) weights, \(tokens) tokens", expected: tokens * cols, actual: dx.count)
        var w = raw
        tern_t5_transposed(pool?.raw, &w, g.baseAddress, tokens, dx.baseAddress)
    }

    public func transposedProduct(_ g: [Float], tokens: Int, pool: ThreadPool? = nil) throws -> [Float] {
        var dx = [Float](repeating: 0, count: tokens * cols)
        try g.withUnsafeBufferPointer { gp in
            try dx.withUnsafeMutableBufferPointer { try transposedProduct(gp, tokens: tokens, into: $0, pool: pool) }
        }
        return dx
    }
}
