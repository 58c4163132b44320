import TernKernels

/// The summed loss of some scored tokens.
public struct LossSum: Sendable, Equatable {
    public var total: Double
    public var tokens: Int

    public init(total: Double = 0, tokens: Int = 0) {
        self.total = total
        self.tokens = tokens
    }

    /// Mean loss per scored token (0 when nothing was scored).
    public var mean: Double { tokens == 0 ? 0 : total / Double(tokens) }

    public static func + (l: LossSum, r: LossSum) -> LossSum { LossSum(total: l.total + r.total, tokens: l.tokens + r.tokens) }
}

/// Forward and backward passes of a frozen `TransformerModel` with a LoRA adapter, over one
/// training sequence at a time. The base projections run through the inference kernels
/// (int8 activations by default) and their input gradients through the transposed products,
/// in the stored weight format; only the LoRA pairs get gradients.
///
/// Activations are kept per block for the backward pass, or — with `recomputesActivations`
/// — only each block's input is kept and the block's forward is rerun just before its
/// backward (one extra forward pass, a fraction of the memory).
public final class TrainingGraph {
    public let model: TransformerModel
    public let parameters: LoRAParameters
    /// The most tokens one forward pass takes (a sequence may hold one more: the last target).
    public let capacity: Int
    public let precision: MatmulPrecision
    public let recomputesActivations: Bool
    public let ternaryGradient: TernaryGradientPath
    let pool: ThreadPool?

    /// inputs[l] is block l's input; inputs[blockCount] the final hidden state.
    private let inputs: [TrainingBuffer]
    private let tapes: [BlockTape]
    private let projections: [[LoRATarget: LoRAProjection]]
    private let attention: AttentionGradient
    private let positions: [Int32]
    /// The lowest block with a LoRA site: the backward pass stops there.
    private let lowestTrainedLayer: Int
    private let scratch = ScratchArena()
    private let quantized = ActivationCache()
    /// The LoRA dropout mask of the pass under way (nil: no dropout); the forward, its
    /// recomputation and the backward all read this one.
    private var dropout: DropoutMask?

    /// - Parameters:
    ///   - capacity: tokens per forward pass (the context length of training).
    ///   - recomputesActivations: nil picks recomputation when the saved activations would
    ///     take more than 256 MiB.
    ///   - ternaryGradient: how input gradients pass ternary projections (see
    ///     `TernaryGradientPath`); block-quant and float bases always use the float path.
    public init(model: TransformerModel, parameters: LoRAParameters, capacity: Int,
                precision: MatmulPrecision = .int8Activations, recomputesActivations: Bool? = nil,
                ternaryGradient: TernaryGradientPath = .int8, pool: ThreadPool? = nil) throws {
        let hp = model.parameters
        guard capacity > 0 else { throw TrainingError.invalidOption("context length \(capacity) must be positive") }
        for slot in parameters.slots {
            guard slot.site.layer < hp.blockCount else {
                throw TrainingError.adapterMismatch("\(slot.site.baseTensorName): the model has \(hp.blockCount) blocks")
            }
            let base = model.blocks[slot.site.layer].projection(slot.site.target)
            guard base.inputCount == slot.inputs, base.outputCount == slot.outputs else {
                throw TrainingError.adapterMismatch("\(slot.site.baseTensorName) is \(base.outputCount)×\(base.inputCount), "
                    + "the adapter pair \(slot.outputs)×\(slot.inputs)")
            }
        }
        self.model = model
        self.parameters = parameters
        self.capacity = capacity
        self.precision = precision
        self.pool = pool
        let targets = Set(parameters.slots.map(\.site.target))
        let tapeBytes = BlockTape.byteCount(parameters: hp, capacity: capacity, targets: targets.count, rank: parameters.rank)
        let recompute = recomputesActivations ?? (tapeBytes * hp.blockCount > 256 << 20)
        self.recomputesActivations = recompute
        inputs = (0...hp.blockCount).map { _ in TrainingBuffer(count: capacity * hp.embeddingLength) }
        tapes = (0..<(recompute ? 1 : hp.blockCount)).map { _ in
            BlockTape(parameters: hp, capacity: capacity, targets: targets, rank: parameters.rank)
        }
        let lowest = parameters.slots.map(\.site.layer).min() ?? hp.blockCount
        lowestTrainedLayer = lowest
        self.ternaryGradient = ternaryGradient
        projections = try (0..<hp.blockCount).map { layer in
            Dictionary(uniqueKeysWithValues: try LoRATarget.allCases.map { target in
                let base = model.blocks[layer].projection(target)
                // Input gradients flow through the blocks above the lowest trained one, and
                // in that block down to its Q, K, V outputs only.
                var transposed: TransposedTernary?
                let needsInputGradient = layer > lowest || !LoRATarget.attentionInputs.contains(target)
                if ternaryGradient == .int8, layer >= lowest, needsInputGradient, case .ternary = base.weights {
                    transposed = try TransposedTernary(base)
                }
                return (target, LoRAProjection(base: base, slot: parameters.slot(layer: layer, target: target),
                                               parameters: parameters, transposed: transposed))
            })
        }
        attention = AttentionGradient(heads: hp.headCount, kvHeads: hp.headCountKV, headDimension: hp.headDimension)
        positions = (0..<capacity).map { Int32($0) }
    }

    // MARK: Public passes

    /// Runs the sequence forward and backward and adds ∂(lossScale · Σ loss)/∂θ to
    /// `parameters.gradients`, with the LoRA inputs dropped by `dropout` when given.
    /// Returns the summed loss of the scored tokens.
    public func accumulateGradients(for sequence: TrainingSequence, lossScale: Float, dropout: DropoutMask? = nil) throws -> LossSum {
        try pass(sequence, backward: true, lossScale: lossScale, dropout: dropout)
    }

    /// The summed loss of the scored tokens, forward only. Validation passes no mask; with
    /// one it is the loss `accumulateGradients` differentiates under that mask.
    public func evaluate(_ sequence: TrainingSequence, dropout: DropoutMask? = nil) throws -> LossSum {
        try pass(sequence, backward: false, lossScale: 0, dropout: dropout)
    }

    /// Logits of every position (positions × vocabulary), computed by the training forward
    /// pass with the current adapter.
    public func logits(tokens: [Int32]) throws -> [Float] {
        let n = tokens.count
        dropout = nil
        try forward(tokens)
        let e = model.parameters.embeddingLength
        let normed = try finalNorm(tokens: n)
        var logits = [Float](repeating: 0, count: n * model.vocabularySize)
        let input = try LinearInput(UnsafeBufferPointer(normed), tokens: n, quantizingInto: activations(tokens: n, cols: e, for: model.output))
        try logits.withUnsafeMutableBufferPointer { try model.output.forward(input, precision: precision, into: $0, pool: pool) }
        return logits
    }

    // MARK: Forward

    private func pass(_ sequence: TrainingSequence, backward: Bool, lossScale: Float, dropout: DropoutMask?) throws -> LossSum {
        guard sequence.tokens.count >= 2 else { throw TrainingError.sequenceTooShort }
        self.dropout = dropout
        let inputTokens = Array(sequence.tokens.dropLast())
        let n = inputTokens.count
        let targets = Array(sequence.tokens.dropFirst())
        let scored = (0..<n).filter { sequence.lossMask[$0 + 1] }
        guard !scored.isEmpty else { return LossSum() }
        try forward(inputTokens)
        let e = model.parameters.embeddingLength
        let normed = try finalNorm(tokens: n)
        let dNormed = backward ? scratch.buffer("grad.normedOut", count: n * e) : nil
        let loss = OutputLoss(head: model.output, precision: precision)
        let total = try loss.run(normed: UnsafeBufferPointer(normed), width: e, targets: targets, scored: scored,
                                 weight: lossScale, gradient: dNormed,
                                 activations: { self.quantized.buffer(tokens: $0, cols: e) }, scratch: scratch, pool: pool)
        if let dNormed { try self.backward(tokens: n, outputGradient: dNormed) }
        return LossSum(total: total, tokens: scored.count)
    }

    private func forward(_ tokens: [Int32]) throws {
        let hp = model.parameters
        let n = tokens.count
        guard n > 0 else { throw TrainingError.sequenceTooShort }
        guard n <= capacity else { throw TrainingError.sequenceTooLong(tokens: n + 1, capacity: capacity + 1) }
        let e = hp.embeddingLength
        for (t, id) in tokens.enumerated() {
            guard id >= 0, Int(id) < hp.vocabularySize else {
                throw RuntimeError.tokenOutOfRange(token: id, vocabularySize: hp.vocabularySize)
            }
            try model.tokenEmbedding.copyRow(Int(id), into: inputs[0].prefix(n * e).rows(t, width: e))
        }
        for layer in 0..<hp.blockCount {
            try forwardBlock(layer, tokens: n, tape: tape(layer))
        }
    }

    private func tape(_ layer: Int) -> BlockTape { recomputesActivations ? tapes[0] : tapes[layer] }

    /// Block `layer` from inputs[layer] to inputs[layer + 1], saving what backward needs.
    /// A recomputation before the backward (`recomputing`) stops after gate and up when
    /// ffn_down has no LoRA pair: inputs[layer + 1] is already kept and the down projection
    /// would only write it again (a quarter of a 2B block's ternary work).
    private func forwardBlock(_ layer: Int, tokens n: Int, tape: BlockTape, recomputing: Bool = false) throws {
        let hp = model.parameters, block = model.blocks[layer], p = projections[layer]
        let e = hp.embeddingLength, kv = hp.headCountKV * hp.headDimension, ff = hp.feedForwardLength
        let x = inputs[layer].prefix(n * e), out = inputs[layer + 1].prefix(n * e)
        let query = tape.query.prefix(n * e), key = tape.key.prefix(n * kv), value = tape.value.prefix(n * kv)

        let normed = scratch.buffer("normed", count: n * e)
        try normalize(x, block.attentionNorm, into: normed)
        let attentionInput = try LinearInput(UnsafeBufferPointer(normed), tokens: n,
                                             quantizingInto: activations(tokens: n, cols: e, for: block.query, block.key, block.value))
        try project(p[.attentionQuery]!, attentionInput, tape: tape, into: query)
        try project(p[.attentionKey]!, attentionInput, tape: tape, into: key)
        try project(p[.attentionValue]!, attentionInput, tape: tape, into: value)
        try rope(query, heads: hp.headCount, tokens: n, inverse: false)
        try rope(key, heads: hp.headCountKV, tokens: n, inverse: false)
        let mixed = tape.attention.prefix(n * e)
        try attention.forward(q: UnsafeBufferPointer(query), k: UnsafeBufferPointer(key), v: UnsafeBufferPointer(value),
                              tokens: n, into: mixed, pool: pool)
        var projected = mixed
        if let subNorm = block.attentionSubNorm {
            projected = scratch.buffer("attentionNormed", count: n * e)
            try normalize(mixed, subNorm, into: projected)
        }
        let afterAttention = tape.afterAttention.prefix(n * e)
        try project(p[.attentionOutput]!, try LinearInput(UnsafeBufferPointer(projected), tokens: n,
                                                     quantizingInto: activations(tokens: n, cols: e, for: block.attentionOutput)),
                    tape: tape, into: afterAttention)
        for i in 0..<(n * e) { afterAttention[i] = x[i] + afterAttention[i] }

        try normalize(afterAttention, block.ffnNorm, into: normed)
        let ffnInput = try LinearInput(UnsafeBufferPointer(normed), tokens: n,
                                       quantizingInto: activations(tokens: n, cols: e, for: block.gate, block.up))
        let gate = tape.gate.prefix(n * ff), up = tape.up.prefix(n * ff)
        try project(p[.feedForwardGate]!, ffnInput, tape: tape, into: gate)
        try project(p[.feedForwardUp]!, ffnInput, tape: tape, into: up)
        if recomputing && p[.feedForwardDown]!.slot == nil { return }
        let hidden = try gatedHidden(block, gate: gate, up: up, tokens: n).normed
        try project(p[.feedForwardDown]!, try LinearInput(UnsafeBufferPointer(hidden), tokens: n,
                                                     quantizingInto: activations(tokens: n, cols: ff, for: block.down)),
                    tape: tape, into: out)
        for i in 0..<(n * e) { out[i] = afterAttention[i] + out[i] }
    }

    /// act(gate)·up, and its ffn sub-norm (bitnet; the same buffer otherwise).
    private func gatedHidden(_ block: TransformerBlock, gate: UnsafeMutableBufferPointer<Float>,
                             up: UnsafeMutableBufferPointer<Float>, tokens n: Int)
        throws -> (raw: UnsafeMutableBufferPointer<Float>, normed: UnsafeMutableBufferPointer<Float>) {
        let ff = model.parameters.feedForwardLength
        let raw = scratch.buffer("hidden", count: n * ff)
        try FloatKernels.gated(model.activation, gate: UnsafeBufferPointer(gate), up: UnsafeBufferPointer(up), into: raw)
        guard let subNorm = block.ffnSubNorm else { return (raw, raw) }
        let normed = scratch.buffer("hiddenNormed", count: n * ff)
        try normalize(raw, subNorm, into: normed)
        return (raw, normed)
    }

    private func finalNorm(tokens n: Int) throws -> UnsafeMutableBufferPointer<Float> {
        let e = model.parameters.embeddingLength
        let normed = scratch.buffer("finalNormed", count: n * e)
        try normalize(inputs[model.parameters.blockCount].prefix(n * e), model.outputNorm, into: normed)
        return normed
    }

    // MARK: Backward

    /// From ∂L/∂(output-normed hidden), back through every block down to the lowest one
    /// with a LoRA site, adding the pairs' gradients.
    private func backward(tokens n: Int, outputGradient dNormed: UnsafeMutableBufferPointer<Float>) throws {
        let hp = model.parameters
        let e = hp.embeddingLength
        let dHidden = scratch.buffer("grad.hidden", count: n * e)
        normGradient(x: inputs[hp.blockCount].prefix(n * e), model.outputNorm, gradient: dNormed, into: dHidden, accumulate: false)
        for layer in stride(from: hp.blockCount - 1, through: lowestTrainedLayer, by: -1) {
            if recomputesActivations { try forwardBlock(layer, tokens: n, tape: tapes[0], recomputing: true) }
            try backwardBlock(layer, tokens: n, tape: tape(layer), gradient: dHidden)
        }
    }

    /// `gradient` holds ∂L/∂(block output) on entry and ∂L/∂(block input) on exit.
    private func backwardBlock(_ layer: Int, tokens n: Int, tape: BlockTape, gradient dOut: UnsafeMutableBufferPointer<Float>) throws {
        let hp = model.parameters, block = model.blocks[layer], p = projections[layer]
        let e = hp.embeddingLength, kv = hp.headCountKV * hp.headDimension, ff = hp.feedForwardLength
        let x = inputs[layer].prefix(n * e)
        let afterAttention = tape.afterAttention.prefix(n * e)

        // Feed-forward half: the residual passes dOut through unchanged.
        let dResidual = scratch.buffer("grad.residual", count: n * e)
        _ = dResidual.update(fromContentsOf: dOut)
        let gate = tape.gate.prefix(n * ff), up = tape.up.prefix(n * ff)
        let hidden = try gatedHidden(block, gate: gate, up: up, tokens: n)
        let dHidden = scratch.buffer("grad.ffHidden", count: n * ff)
        try backwardProjection(p[.feedForwardDown]!, input: hidden.normed, tape: tape, tokens: n,
                               gradient: dOut, into: dHidden, accumulate: false)
        var dGated = dHidden
        if let subNorm = block.ffnSubNorm {
            dGated = scratch.buffer("grad.ffRaw", count: n * ff)
            normGradient(x: hidden.raw, subNorm, gradient: dHidden, into: dGated, accumulate: false)
        }
        let dGate = scratch.buffer("grad.gate", count: n * ff), dUp = scratch.buffer("grad.up", count: n * ff)
        GatedGradient.backward(model.activation, gate: UnsafeBufferPointer(gate), up: UnsafeBufferPointer(up),
                               gradient: UnsafeBufferPointer(dGated), gateGradient: dGate, upGradient: dUp)
        let normed = scratch.buffer("normed", count: n * e)
        try normalize(afterAttention, block.ffnNorm, into: normed)
        let dNormed = scratch.buffer("grad.normed", count: n * e)
        try backwardProjection(p[.feedForwardGate]!, input: normed, tape: tape, tokens: n, gradient: dGate, into: dNormed, accumulate: false)
        try backwardProjection(p[.feedForwardUp]!, input: normed, tape: tape, tokens: n, gradient: dUp, into: dNormed, accumulate: true)
        normGradient(x: afterAttention, block.ffnNorm, gradient: dNormed, into: dResidual, accumulate: true)

        // Attention half.
        let mixed = tape.attention.prefix(n * e)
        var projected = mixed
        if let subNorm = block.attentionSubNorm {
            projected = scratch.buffer("attentionNormed", count: n * e)
            try normalize(mixed, subNorm, into: projected)
        }
        let dProjected = scratch.buffer("grad.attentionNormed", count: n * e)
        try backwardProjection(p[.attentionOutput]!, input: projected, tape: tape, tokens: n,
                               gradient: dResidual, into: dProjected, accumulate: false)
        var dMixed = dProjected
        if let subNorm = block.attentionSubNorm {
            dMixed = scratch.buffer("grad.attention", count: n * e)
            normGradient(x: mixed, subNorm, gradient: dProjected, into: dMixed, accumulate: false)
        }
        let dq = scratch.buffer("grad.query", count: n * e)
        let dk = scratch.buffer("grad.key", count: n * kv), dv = scratch.buffer("grad.value", count: n * kv)
        try attention.backward(q: UnsafeBufferPointer(tape.query.prefix(n * e)), k: UnsafeBufferPointer(tape.key.prefix(n * kv)),
                               v: UnsafeBufferPointer(tape.value.prefix(n * kv)), tokens: n,
                               outputGradient: UnsafeBufferPointer(dMixed),
                               queryGradient: dq, keyGradient: dk, valueGradient: dv, pool: pool)
        try rope(dq, heads: hp.headCount, tokens: n, inverse: true)
        try rope(dk, heads: hp.headCountKV, tokens: n, inverse: true)

        try normalize(x, block.attentionNorm, into: normed)
        let propagates = layer > lowestTrainedLayer
        let dInput: UnsafeMutableBufferPointer<Float>? = propagates ? dNormed : nil
        try backwardProjection(p[.attentionQuery]!, input: normed, tape: tape, tokens: n, gradient: dq, into: dInput, accumulate: false)
        try backwardProjection(p[.attentionKey]!, input: normed, tape: tape, tokens: n, gradient: dk, into: dInput, accumulate: true)
        try backwardProjection(p[.attentionValue]!, input: normed, tape: tape, tokens: n, gradient: dv, into: dInput, accumulate: true)
        guard propagates else { return }
        _ = dOut.update(fromContentsOf: dResidual)
        normGradient(x: x, block.attentionNorm, gradient: dNormed, into: dOut, accumulate: true)
    }

    // MARK: Helpers

    private func project(_ projection: LoRAProjection, _ input: LinearInput, tape: BlockTape,
                         into y: UnsafeMutableBufferPointer<Float>) throws {
        let u = projection.slot.flatMap { tape.lowRank[$0.site.target] }?.prefix(input.tokens * parameters.rank)
        try projection.forward(input, precision: precision, dropout: dropout, lowRank: u, into: y, scratch: scratch, pool: pool)
    }

    private func backwardProjection(_ projection: LoRAProjection, input: UnsafeMutableBufferPointer<Float>, tape: BlockTape,
                                    tokens n: Int, gradient: UnsafeMutableBufferPointer<Float>,
                                    into dx: UnsafeMutableBufferPointer<Float>?, accumulate: Bool) throws {
        let u = projection.slot.flatMap { tape.lowRank[$0.site.target] }.map { UnsafeBufferPointer($0.prefix(n * parameters.rank)) }
        try projection.backward(input: UnsafeBufferPointer(input), dropout: dropout, lowRank: u, tokens: n,
                                outputGradient: UnsafeBufferPointer(gradient), inputGradient: dx,
                                accumulate: accumulate, scratch: scratch, activations: quantized, pool: pool)
    }

    private func normalize(_ x: UnsafeMutableBufferPointer<Float>, _ weight: [Float], into y: UnsafeMutableBufferPointer<Float>) throws {
        try weight.withUnsafeBufferPointer {
            try FloatKernels.rmsNorm(UnsafeBufferPointer(x), weight: $0, rowLength: $0.count,
                                     eps: Float(model.parameters.rmsNormEpsilon), into: y)
        }
    }

    private func normGradient(x: UnsafeMutableBufferPointer<Float>, _ weight: [Float], gradient: UnsafeMutableBufferPointer<Float>,
                              into dx: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
        weight.withUnsafeBufferPointer {
            RMSNormGradient.backward(x: UnsafeBufferPointer(x), weight: $0, rowLength: $0.count,
                                     eps: Float(model.parameters.rmsNormEpsilon), gradient: UnsafeBufferPointer(gradient),
                                     into: dx, accumulate: accumulate)
        }
    }

    private func rope(_ x: UnsafeMutableBufferPointer<Float>, heads: Int, tokens n: Int, inverse: Bool) throws {
        let hp = model.parameters
        try positions.withUnsafeBufferPointer {
            try FloatKernels.rope(x, heads: heads, headDim: hp.headDimension, rotatedDims: hp.ropeDimensionCount,
                                  positions: UnsafeBufferPointer(rebasing: $0[0..<n]), freqBase: Float(hp.ropeFreqBase),
                                  layout: model.ropeLayout, inverse: inverse)
        }
    }

    /// Int8 activation scratch for `tokens` × `cols` (one per shape, reused).
    /// Scratch for the int8 quantization of an input, or nil when none of `readers` reads it
    /// (block-quant and float bases quantize per block inside their own kernels).
    private func activations(tokens: Int, cols: Int, for readers: Linear...) -> QuantizedActivations? {
        readers.contains { $0.readsQuantizedInput(precision) } ? quantized.buffer(tokens: tokens, cols: cols) : nil
    }
}

extension UnsafeMutableBufferPointer where Element == Float {
    /// Row `t` of a row-major matrix with rows of `width` values.
    func rows(_ t: Int, width: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: self[(t * width)..<((t + 1) * width)])
    }
}

extension LoRATarget {
    /// The projections that read the attention norm's output (the block input's branch).
    static let attentionInputs: [LoRATarget] = [.attentionQuery, .attentionKey, .attentionValue]
}
