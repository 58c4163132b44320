import CTernary

/// Pair layout of rotary position embeddings.
public enum RoPELayout: Sendable {
    /// (x0,x1),(x2,x3)…: llama, SmolLM2, TinyLlama.
    case adjacentPairs
    /// (x_i, x_{i+d/2}): NEOX half split, used by bitnet.
    case neox

    var raw: tern_rope_layout { self == .neox ? TERN_ROPE_NEOX : TERN_ROPE_ADJACENT }
}

/// Activation of a gated feed-forward block.
public enum FFNActivation: Sendable {
    /// x·σ(x).
    case silu
    /// max(x, 0)², BitNet b1.58 2B-4T's `relu2`.
    case relu2

    var raw: tern_ffn_activation { self == .silu ? TERN_ACT_SILU : TERN_ACT_RELU2 }
}

/// Float operations of the model runtime on caller-owned buffers (no allocation of
/// outputs, no copies of weights). Every shape is checked before the C kernel runs.
/// Inputs and outputs may be the same memory where the doc says so.
public enum FloatKernels {
    /// Y[n×out] = X[n×in] · Wᵀ, with W = `weights` (out×in). Bit-identical for any pool size.
    public static func matmul(_ x: UnsafeBufferPointer<Float>, rows n: Int, weights: FloatMatrix,
                              into y: UnsafeMutableBufferPointer<Float>, pool: ThreadPool? = nil,
                              variant: FloatKernelVariant = .automatic) throws {
        func op() -> String { "matmul with \(weights.rows)×\(weights.cols) weights" }
        try FloatKernelError.expectProduct(op(), rows: n, input: ("X", x.count, weights.cols), output: ("Y", y.count, weights.rows))
        try FloatKernelError.check(
            tern_gemm_f(pool?.raw, variant.raw, weights.elementType.raw, x.baseAddress, n, weights.cols,
                        weights.bytes.baseAddress, weights.rows, y.baseAddress), op(), variant)
    }

    /// DX[n×in] = G[n×out] · W: the gradient with respect to the input of `matmul`.
    public static func matmulTransposed(_ g: UnsafeBufferPointer<Float>, rows n: Int, weights: FloatMatrix,
                                        into dx: UnsafeMutableBufferPointer<Float>, pool: ThreadPool? = nil,
                                        variant: FloatKernelVariant = .automatic) throws {
        func op() -> String { "matmulTransposed with \(weights.rows)×\(weights.cols) weights" }
        try FloatKernelError.expectProduct(op(), rows: n, input: ("G", g.count, weights.rows), output: ("DX", dx.count, weights.cols))
        try FloatKernelError.check(
            tern_gemm_t_f(pool?.raw, variant.raw, weights.elementType.raw, g.baseAddress, n, weights.rows,
                          weights.bytes.baseAddress, weights.cols, dx.baseAddress), op(), variant)
    }

    /// y = x / sqrt(mean(x²) + eps) · weight for each row of `rowLength` values (weight,
    /// when given, has `rowLength` values too). `y` may be `x`.
    public static func rmsNorm(_ x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>?,
                               rowLength d: Int, eps: Float, into y: UnsafeMutableBufferPointer<Float>,
                               variant: FloatKernelVariant = .automatic) throws {
        let op = "rmsNorm"
        guard d > 0, x.count % d == 0 else {
            throw FloatKernelError.shapeMismatch(operation: op, expected: "rows of \(d) values", actual: "\(x.count) values")
        }
        guard eps >= 0, eps.isFinite else { throw FloatKernelError.invalidArgument("rmsNorm: eps \(eps) must be finite and >= 0") }
        if let weight { try FloatKernelError.expectCount(weight.count, d, op + " weight", "[\(d)]") }
        try FloatKernelError.expectCount(y.count, x.count, op + " output", "\(x.count / d)×\(d)")
        try FloatKernelError.check(
            tern_rmsnorm(variant.raw, x.baseAddress, weight?.baseAddress, eps, x.count / d, d, y.baseAddress), op, variant)
    }

    /// Softmax over each row of `columns` values. With `causalOffset` p, row i keeps
    /// columns 0...i+p and the others become 0 (queries starting at key position p).
    /// `y` may be `x`.
    public static func softmax(_ x: UnsafeBufferPointer<Float>, columns: Int, causalOffset: Int? = nil,
                               into y: UnsafeMutableBufferPointer<Float>,
                               variant: FloatKernelVariant = .automatic) throws {
        let op = "softmax"
        guard columns > 0, x.count % columns == 0 else {
            throw FloatKernelError.shapeMismatch(operation: op, expected: "rows of \(columns) values", actual: "\(x.count) values")
        }
        if let causalOffset, causalOffset < 0 {
            throw FloatKernelError.invalidArgument("softmax: causal offset \(causalOffset) is negative")
        }
        try FloatKernelError.expectCount(y.count, x.count, op + " output", "\(x.count / columns)×\(columns)")
        try FloatKernelError.check(
            tern_softmax(variant.raw, x.baseAddress, x.count / columns, columns, causalOffset ?? -1, y.baseAddress),
            op, variant)
    }

    /// Rotates x[tokens][heads][headDim] in place: pair i of token t turns by
    /// positions[t]·freqBase^(−2i/rotatedDims); only the first `rotatedDims` dims rotate.
    /// `inverse` turns the other way (the backward pass of RoPE).
    public static func rope(_ x: UnsafeMutableBufferPointer<Float>, heads: Int, headDim: Int,
                            rotatedDims: Int? = nil, positions: UnsafeBufferPointer<Int32>,
                            freqBase: Float, layout: RoPELayout, inverse: Bool = false,
                            variant: FloatKernelVariant = .automatic) throws {
        let op = "rope"
        let rot = rotatedDims ?? headDim
        guard heads > 0, headDim > 0, rot > 0, rot % 2 == 0, rot <= headDim else {
            throw FloatKernelError.invalidArgument(
                "rope: rotated dims \(rot) must be even and within head dim \(headDim) (heads \(heads))")
        }
        guard freqBase > 0, freqBase.isFinite else {
            throw FloatKernelError.invalidArgument("rope: frequency base \(freqBase) must be positive")
        }
        let perToken = try FloatKernelError.product(heads, headDim, op)
        let expected = try FloatKernelError.product(positions.count, perToken, op)
        try FloatKernelError.expectCount(x.count, expected, op, "\(positions.count) tokens×\(heads)×\(headDim)")
        try FloatKernelError.check(
            tern_rope(variant.raw, x.baseAddress, positions.count, heads, headDim, rot, positions.baseAddress,
                      freqBase, layout.raw, inverse ? 1 : 0), op, variant)
    }

    /// y = act(x) elementwise; `y` may be `x`.
    public static func activate(_ activation: FFNActivation, _ x: UnsafeBufferPointer<Float>,
                                into y: UnsafeMutableBufferPointer<Float>,
                                variant: FloatKernelVariant = .automatic) throws {
        try FloatKernelError.expectCount(y.count, x.count, "activate output", "[\(x.count)]")
        try FloatKernelError.check(tern_activate(variant.raw, activation.raw, x.baseAddress, x.count, y.baseAddress),
                                   "activate", variant)
    }

    /// y = act(gate) · up elementwise (the gated FFN); `y` may be `gate` or `up`.
    public static func gated(_ activation: FFNActivation, gate: UnsafeBufferPointer<Float>,
                             up: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>,
                             variant: FloatKernelVariant = .automatic) throws {
        try FloatKernelError.expectCount(up.count, gate.count, "gated up", "[\(gate.count)] like gate")
        try FloatKernelError.expectCount(y.count, gate.count, "gated output", "[\(gate.count)]")
        try FloatKernelError.check(
            tern_gated(variant.raw, activation.raw, gate.baseAddress, up.baseAddress, gate.count, y.baseAddress),
            "gated", variant)
    }
}
