import TernKernels

/// The weights of one projection in whatever form the file stores them: ternary
/// (repacked once into the engine's T5 layout), block-quantized or float (both viewed in
/// place inside the mapped file, never expanded).
public enum LinearWeights: @unchecked Sendable {
    case ternary(TernaryMatrix)
    case blockQuant(BlockQuantMatrix)
    case float(FloatMatrix)

    /// Reads `tensor` of `file` as an outputs×inputs matrix. A ternary tensor is repacked
    /// and its pages of the mapped file are then dropped, so that the process does not keep
    /// both copies resident.
    init(tensor: GGUFTensorInfo, file: GGUFFile) throws {
        let rows = tensor.rowCount, cols = tensor.rowLength
        let bytes = file.data(of: tensor)
        if let format = BlockQuantFormat(ggmlType: tensor.type.rawValue) {
            self = .blockQuant(try BlockQuantMatrix(format: format, rows: rows, cols: cols, bytes: bytes, owner: file))
        } else if let element = FloatElementType(ggmlType: tensor.type.rawValue) {
            self = .float(try FloatMatrix(elementType: element, rows: rows, cols: cols, bytes: bytes, owner: file))
        } else if let encoding = Self.ternaryEncoding(tensor.type) {
            self = .ternary(try TernaryMatrix(encoding: encoding, bytes: bytes, rows: rows, cols: cols))
            file.releaseResidentPages(of: bytes)
        } else {
            throw RuntimeError.unsupportedTensorType(tensor: tensor.name, type: tensor.type.description)
        }
    }

    static func ternaryEncoding(_ type: GGUFTensorType) -> TernaryEncoding? {
        switch type {
        case .tq1_0: .tq1_0
        case .tq2_0: .tq2_0
        case .i2s: .i2s
        default: nil
        }
    }

    public var rows: Int {
        switch self {
        case .ternary(let m): m.rows
        case .blockQuant(let m): m.rows
        case .float(let m): m.rows
        }
    }

    public var cols: Int {
        switch self {
        case .ternary(let m): m.cols
        case .blockQuant(let m): m.cols
        case .float(let m): m.cols
        }
    }

    /// Row `row` as floats into `out` (an embedding lookup reads only the rows it needs).
    public func copyRow(_ row: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        switch self {
        case .blockQuant(let m):
            try m.dequantizeRows(row..<(row + 1), into: out)
        case .float(let m):
            try m.copyRow(row, into: out)
        case .ternary(let m):
            _ = out.initialize(from: m.values(row: row))
        }
    }
}

/// The input of one or more projections: `tokens` rows of `cols` floats, and, when a
/// ternary projection reads it, its int8 per-token quantization, made once and shared by
/// every projection of the same input (Q, K and V; gate and up).
public struct LinearInput {
    public let values: UnsafeBufferPointer<Float>
    public let tokens: Int
    public let quantized: QuantizedActivations?
    /// The session's scratch for the int16 path (nil: allocated per call).
    let workspace: SplitWorkspace?

    /// Quantizes `values` into `activations` (reused scratch) when given: scratch of
    /// `tokens` rows receives the int8 quantization, scratch of 2·`tokens` rows the int16
    /// split (see `quantizedRows(tokens:precision:)`).
    public init(_ values: UnsafeBufferPointer<Float>, tokens: Int, quantizingInto activations: QuantizedActivations?) throws {
        try self.init(values, tokens: tokens, quantizingInto: activations, workspace: nil)
    }

    init(_ values: UnsafeBufferPointer<Float>, tokens: Int, quantizingInto activations: QuantizedActivations?,
         workspace: SplitWorkspace?) throws {
        self.values = values
        self.tokens = tokens
        self.workspace = workspace
        if let activations {
            if activations.tokens == 2 * tokens { try activations.quantizeSplit(values) } else { try activations.quantize(values) }
        }
        quantized = activations
    }

    /// Rows of quantization scratch an input of `tokens` tokens needs under `precision`:
    /// int16 keeps a hi and a lo row per token.
    public static func quantizedRows(tokens: Int, precision: MatmulPrecision) -> Int {
        precision == .int16Activations ? 2 * tokens : tokens
    }
}

/// One projection y = W·x (+ the optional per-tensor `.scale` of BitNet checkpoints).
public struct Linear: Sendable {
    public let name: String
    public let weights: LinearWeights
    /// The per-tensor `.scale` companion, multiplied into the output.
    public let outputScale: Float?
    /// An attached LoRA pair, applied unmerged (see `LoRADelta`).
    var lora: LoRADelta?

    public var inputCount: Int { weights.cols }
    public var outputCount: Int { weights.rows }

    init(name: String, weights: LinearWeights, outputScale: Float?) {
        self.name = name
        self.weights = weights
        self.outputScale = outputScale
    }

    init(_ weight: ModelWeight, source: WeightSource) throws {
        try self.init(tensor: weight.tensor, scale: weight.scale, source: source)
    }

    init(tensor: GGUFTensorInfo, scale: GGUFTensorInfo?, source: WeightSource) throws {
        name = tensor.name
        weights = try source.weights(tensor)
        if let scale {
            let values = try floatVector(scale, file: source.file)
            guard values.count == 1 else { throw RuntimeError.badScaleTensor(tensor: scale.name, elements: values.count) }
            outputScale = values[0]
        } else {
            outputScale = nil
        }
    }

    /// Whether `forward` with `precision` reads the input's int8 quantization.
    public func readsQuantizedInput(_ precision: MatmulPrecision) -> Bool {
        if case .ternary = weights { return precision != .float32 }
        return false
    }

    /// y[t·outputCount + r] = Σ W[r][c]·x[t·inputCount + c] for every token t.
    public func forward(_ input: LinearInput, precision: MatmulPrecision, into y: UnsafeMutableBufferPointer<Float>,
                 pool: ThreadPool?) throws {
        switch (weights, precision) {
        case (.float(let m), _):
            try FloatKernels.matmul(input.values, rows: input.tokens, weights: m, into: y, pool: pool)
        case (.ternary(let m), .int8Activations):
            // A caller that did not quantize the input (see `readsQuantizedInput`) gets it done here.
            let x = try input.quantized ?? QuantizedActivations(Array(input.values), tokens: input.tokens, cols: inputCount)
            try m.gemm(x, into: y, pool: pool)
        case (.blockQuant(let m), .int8Activations):
            try BlockQuantKernels.matmul(input.values, rows: input.tokens, weights: m, into: y, pool: pool)
        case (.ternary(let m), .int16Activations):
            try forwardSplit(input, into: y, inputScratch: 0) { halves, _ in
                // Session inputs arrive split already (2n rows); other callers get it done here.
                var split = input.quantized
                if split?.tokens != 2 * input.tokens {
                    split = QuantizedActivations(tokens: 2 * input.tokens, cols: inputCount)
                    try split!.quantizeSplit(input.values)
                }
                try m.gemm(split!, into: halves, pool: pool)
            }
        case (.blockQuant(let m), .int16Activations):
            try forwardSplit(input, into: y, inputScratch: 2 * input.tokens * inputCount) { halves, stacked in
                SplitActivations.split(input.values, tokens: input.tokens, cols: inputCount,
                                       blockSize: BlockQuantKernels.activationBlock, into: stacked)
                try BlockQuantKernels.matmul(UnsafeBufferPointer(stacked), rows: 2 * input.tokens, weights: m, into: halves, pool: pool)
            }
        case (_, .float32):
            try forwardInFloat(input, into: y, pool: pool)
        }
        try finish(input, into: y, pool: pool)
    }

    /// y_i = W_i·x for projections that share their input (Q, K and V; gate and up): int8
    /// ternary ones go through the kernel as one fused call (`TernaryMatrix.gemm(_:_:into:)`,
    /// the bits of separate calls), anything else one by one.
    static func forward(_ linears: [Linear], _ input: LinearInput, precision: MatmulPrecision,
                        into outputs: [UnsafeMutableBufferPointer<Float>], pool: ThreadPool?) throws {
        var matrices: [TernaryMatrix] = []
        if precision == .int8Activations, let x = input.quantized, x.tokens == input.tokens {
            for linear in linears {
                guard case .ternary(let m) = linear.weights else { break }
                matrices.append(m)
            }
        }
        guard matrices.count == linears.count, let x = input.quantized else {
            for (linear, y) in zip(linears, outputs) { try linear.forward(input, precision: precision, into: y, pool: pool) }
            return
        }
        try TernaryMatrix.gemm(matrices, x, into: outputs, pool: pool)
        for (linear, y) in zip(linears, outputs) { try linear.finish(input, into: y, pool: pool) }
    }

    /// The adapter's low-rank term and the per-tensor scale, after the base product.
    private func finish(_ input: LinearInput, into y: UnsafeMutableBufferPointer<Float>, pool: ThreadPool?) throws {
        try lora?.add(input.values, tokens: input.tokens, into: y, pool: pool)
        if let outputScale {
            for i in y.indices { y[i] *= outputScale }
        }
    }

    /// The int16 path: `multiply` sends the hi and lo halves of every token through the
    /// int8 kernels as 2n tokens of one call — a decode step still streams the weights once —
    /// writing W·hi then W·lo into `halves`; y = W·hi + W·lo. `halves` and `inputScratch`
    /// floats for `multiply` (block-quant's split input) live in the session's
    /// `SplitWorkspace`, allocated per call only without one.
    private func forwardSplit(_ input: LinearInput, into y: UnsafeMutableBufferPointer<Float>, inputScratch: Int,
                              _ multiply: (_ halves: UnsafeMutableBufferPointer<Float>,
                                           _ scratch: UnsafeMutableBufferPointer<Float>) throws -> Void) throws {
        let n = input.tokens, rows = outputCount, cols = inputCount
        guard input.values.count == n * cols, y.count == n * rows else {
            throw TensorShapeError("\(name) with \(cols) inputs, \(rows) outputs: got \(input.values.count) input and \(y.count) output values for \(n) tokens")
        }
        let halfCount = 2 * n * rows
        let workspace = input.workspace?.buffer(count: halfCount + inputScratch)
        let owned = workspace == nil ? UnsafeMutableBufferPointer<Float>.allocate(capacity: halfCount + inputScratch) : nil
        defer { owned?.deallocate() }
        let room = workspace ?? owned!
        let halves = UnsafeMutableBufferPointer(rebasing: room[0..<halfCount])
        try multiply(halves, UnsafeMutableBufferPointer(rebasing: room[halfCount...]))
        for i in 0..<(n * rows) { y[i] = halves[i] + halves[n * rows + i] }
    }

    /// Rows of weights decoded per step of the float path (bounds its scratch memory).
    private static let floatChunkRows = 1024

    /// The float32 path: decodes `floatChunkRows` weight rows at a time and multiplies them
    /// in float, so no activation is rounded to int8.
    private func forwardInFloat(_ input: LinearInput, into y: UnsafeMutableBufferPointer<Float>, pool: ThreadPool?) throws {
        let rows = outputCount, cols = inputCount, n = input.tokens
        guard y.count == n * rows else {
            throw TensorShapeError("output of \(name) for \(n) tokens: expected \(n * rows) values, got \(y.count)")
        }
        let chunk = min(rows, Self.floatChunkRows)
        let decoded = UnsafeMutableBufferPointer<Float>.allocate(capacity: chunk * cols)
        let partial = UnsafeMutableBufferPointer<Float>.allocate(capacity: n * chunk)
        defer {
            decoded.deallocate()
            partial.deallocate()
        }
        for start in stride(from: 0, to: rows, by: chunk) {
            let count = min(chunk, rows - start)
            for r in 0..<count {
                try weights.copyRow(start + r, into: UnsafeMutableBufferPointer(rebasing: decoded[(r * cols)..<((r + 1) * cols)]))
            }
            let slice = try FloatMatrix(elementType: .f32, rows: count, cols: cols,
                                        bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: decoded[0..<(count * cols)])))
            let out = UnsafeMutableBufferPointer(rebasing: partial[0..<(n * count)])
            try FloatKernels.matmul(input.values, rows: n, weights: slice, into: out, pool: pool)
            for t in 0..<n {
                for r in 0..<count { y[t * rows + start + r] = out[t * count + r] }
            }
        }
    }
}

/// How projections multiply: the way llama.cpp and bitnet.cpp do (activations rounded to
/// int8, fastest), with activations split over two int8 passes (int16: float-model logits
/// through the same integer kernels), or in float32 throughout (for checking the kernels).
public enum MatmulPrecision: String, Sendable, CaseIterable {
    /// Activations rounded to int8 (per token for ternary weights, per 32 for
    /// block-quantized ones): the fastest, and what BitNet b1.58 itself was trained with.
    case int8Activations = "int8"
    /// Each activation carried as two int8 halves (`SplitActivations`): about 15 bits, so
    /// logits match the float model to ~1e-6 KL, at up to twice int8's arithmetic — the
    /// weights are still streamed once per decode step.
    case int16Activations = "int16"
    /// Weights decoded to float32 a chunk at a time: the float model itself, slowest.
    case float32
}

/// A small float tensor (norm weights, scales) copied out of the file as F32. Its pages of
/// the mapping are then dropped: where the page cache holds the file in 2 MB folios, the
/// read maps all 2 MB, and a 2B model's 121 norms kept ~75 MB resident that way.
func floatVector(_ tensor: GGUFTensorInfo, file: GGUFFile) throws -> [Float] {
    guard let element = FloatElementType(ggmlType: tensor.type.rawValue) else {
        throw RuntimeError.unsupportedTensorType(tensor: tensor.name, type: tensor.type.description)
    }
    let bytes = file.data(of: tensor)
    let matrix = try FloatMatrix(elementType: element, rows: 1, cols: tensor.elementCount, bytes: bytes, owner: file)
    defer { file.releaseResidentPages(of: bytes) }
    return try matrix.row(0)
}
