import CTernary

/// Block-quantized conversions and the int8 matmul that runs a forward pass straight from
/// quantized weights (activations are quantized to int8 blocks of 32 on the way in).
public enum BlockQuantKernels {
    /// Dequantizes `bytes` (whole blocks of `format`) into `out`, bit-exact with ggml.
    public static func dequantize(_ format: BlockQuantFormat, bytes: UnsafeRawBufferPointer,
                                  into out: UnsafeMutableBufferPointer<Float>) throws {
        guard out.count % format.blockElements == 0 else {
            throw FloatKernelError.invalidArgument(
                "\(format) dequantize: \(out.count) outputs are not whole \(format.blockElements)-weight blocks")
        }
        let needed = try format.byteCount(elements: out.count)
        guard bytes.count == needed else {
            throw FloatKernelError.byteCountMismatch(shape: "[\(out.count)]", format: "\(format)",
                                                     expected: needed, byteCount: bytes.count)
        }
        guard out.count > 0 else { return }
        _ = tern_dequantize(format.raw, bytes.baseAddress, out.baseAddress, out.count)
    }

    /// ggml's reference Q8_0 quantization of `values` (a multiple of 32 of them).
    public static func quantizeQ8_0(_ values: UnsafeBufferPointer<Float>) throws -> [UInt8] {
        let byteCount = try BlockQuantFormat.q8_0.byteCount(elements: values.count)
        return [UInt8](unsafeUninitializedCapacity: byteCount) { out, initialized in
            if byteCount > 0 { tern_quantize_q8_0(values.baseAddress, out.baseAddress, values.count) }
            initialized = byteCount
        }
    }

    /// Activations are quantized to int8 in blocks of this many values, each with its own
    /// scale (as ggml's Q8_0/Q8_1).
    public static let activationBlock = 32

    /// Y[n×out] = X[n×in] · Wᵀ through quantized W (out×in). X is quantized to int8 blocks
    /// of 32, so the result is close to, not equal to, the float product. Bit-identical
    /// for any pool size.
    public static func matmul(_ x: UnsafeBufferPointer<Float>, rows n: Int, weights: BlockQuantMatrix,
                              into y: UnsafeMutableBufferPointer<Float>, pool: ThreadPool? = nil,
                              variant: FloatKernelVariant = .automatic) throws {
        func op() -> String { "matmul with \(weights.rows)×\(weights.cols) \(weights.format) weights" }
        try FloatKernelError.expectProduct(op(), rows: n, input: ("X", x.count, weights.cols), output: ("Y", y.count, weights.rows))
        try FloatKernelError.check(
            tern_gemm_q(pool?.raw, variant.raw, weights.format.raw, x.baseAddress, n, weights.cols,
                        weights.bytes.baseAddress, weights.rows, y.baseAddress), op(), variant)
    }

    /// DX[n×in] = G[n×out] · W through quantized W, in float (backprop through frozen
    /// weights). Dequantizes one 256-wide tile of a row at a time.
    public static func matmulTransposed(_ g: UnsafeBufferPointer<Float>, rows n: Int, weights: BlockQuantMatrix,
                                        into dx: UnsafeMutableBufferPointer<Float>, pool: ThreadPool? = nil,
                                        variant: FloatKernelVariant = .automatic) throws {
        func op() -> String { "matmulTransposed with \(weights.rows)×\(weights.cols) \(weights.format) weights" }
        try FloatKernelError.expectProduct(op(), rows: n, input: ("G", g.count, weights.rows), output: ("DX", dx.count, weights.cols))
        try FloatKernelError.check(
            tern_gemm_t_q(pool?.raw, variant.raw, weights.format.raw, g.baseAddress, n, weights.rows,
                          weights.bytes.baseAddress, weights.cols, dx.baseAddress), op(), variant)
    }
}
