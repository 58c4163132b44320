import CTernary

/// Activations quantized to int8 per token (absmax: s = 127/max|x|), with each token's
/// dequantization factor 1/s and Σq (for the unsigned-code trick dot(w+1, q) − Σq).
/// Rows are padded with zeros to `stride` bytes. Reuse one instance across calls with
/// `quantize(_:)` to keep allocation off the hot path.
public final class QuantizedActivations: @unchecked Sendable {
    public let tokens: Int
    public let cols: Int
    public let stride: Int
    let storage: TensorStorage
    let dequant: UnsafeMutablePointer<Float>
    let sums: UnsafeMutablePointer<Int32>

    public init(tokens: Int, cols: Int) {
        self.tokens = tokens
        self.cols = cols
        stride = tern_activation_stride(cols)
        let qBytes = tokens * stride
        storage = TensorStorage(byteCount: qBytes + tokens * 8)
        dequant = (storage.pointer + qBytes).bindMemory(to: Float.self, capacity: tokens)
        sums = (storage.pointer + qBytes + tokens * 4).bindMemory(to: Int32.self, capacity: tokens)
    }

    /// Quantizes `tokens` rows of `cols` floats (row-major).
    public convenience init(_ x: [Float], tokens: Int, cols: Int) throws {
        self.init(tokens: tokens, cols: cols)
        try x.withUnsafeBufferPointer { try quantize($0) }
    }

    /// Overwrites the contents with the quantization of `x` (tokens x cols, row-major).
    public func quantize(_ x: UnsafeBufferPointer<Float>) throws {
        try TensorShapeError.check("activations for \(tokens) tokens x \(cols)", expected: tokens * cols, actual: x.count)
        tern_quantize_activations(x.baseAddress, tokens, cols, stride,
                                  storage.pointer.assumingMemoryBound(to: Int8.self), dequant, sums)
    }

    /// Overwrites the contents with the int16 split of `x` ((tokens/2) x cols): rows
    /// 0..<tokens/2 are the int8 quantization `quantize` writes (hi), rows tokens/2..<tokens
    /// the rounding residual x − hi quantized again (lo), so a kernel's outputs for the two
    /// halves add up to W·x with about 15 bits per activation.
    public func quantizeSplit(_ x: UnsafeBufferPointer<Float>) throws {
        guard tokens % 2 == 0 else {
            throw TensorShapeError("an int16 split needs an even number of activation rows (hi and lo per token), got \(tokens)")
        }
        try TensorShapeError.check("activations for \(tokens / 2) tokens x \(cols)", expected: tokens / 2 * cols, actual: x.count)
        guard tern_quantize_activations_split(x.baseAddress, tokens / 2, cols, stride,
                                              storage.pointer.assumingMemoryBound(to: Int8.self), dequant, sums) == 0 else {
            throw FloatKernelError.outOfMemory(operation: "int16 activation split of \(cols) columns")
        }
    }

    /// The int8 values of one token (cols of them).
    public func values(token: Int) -> [Int8] {
        let p = storage.pointer.assumingMemoryBound(to: Int8.self) + token * stride
        return Array(UnsafeBufferPointer(start: p, count: cols))
    }

    /// 1/s of a token: the factor that turns int8 values back into floats.
    public func dequantizationScale(token: Int) -> Float { dequant[token] }
    public func sum(token: Int) -> Int32 { sums[token] }

    var raw: tern_activations {
        tern_activations(q: storage.pointer.assumingMemoryBound(to: Int8.self), dequant: dequant, sums: sums,
                         tokens: tokens, cols: cols, stride: stride)
    }
}
