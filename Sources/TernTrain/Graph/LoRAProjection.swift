import TernKernels

/// One projection during training: y = W·x + s·B·(A·drop(x)), W frozen (run by the inference
/// kernels), A and B the site's LoRA pair (absent: y = W·x), s = alpha/rank, drop the
/// training pass's LoRA dropout (none: drop(x) = x).
struct LoRAProjection {
    let base: Linear
    let slot: LoRAParameters.Slot?
    let parameters: LoRAParameters
    /// For a ternary base on the int8 gradient path: Wᵀ repacked.
    let transposed: TransposedTernary?

    /// alpha/rank times the base's per-tensor output scale: like the runtime's `--lora`
    /// (and llama.cpp), the low-rank term is added before that scale multiplies the sum.
    private var loraScale: Float { parameters.scale * (base.outputScale ?? 1) }

    /// Writes y (tokens × outputs) and, when the site has a pair, the low-rank activation
    /// u = drop(x)·Aᵀ (tokens × rank) that the backward pass needs.
    func forward(_ input: LinearInput, precision: MatmulPrecision, dropout: DropoutMask?, lowRank u: UnsafeMutableBufferPointer<Float>?,
                 into y: UnsafeMutableBufferPointer<Float>, scratch: ScratchArena, pool: ThreadPool?) throws {
        try base.forward(input, precision: precision, into: y, pool: pool)
        guard let slot, let u else { return }
        let n = input.tokens, r = parameters.rank
        let x = try dropped(input.values, tokens: n, dropout: dropout, scratch: scratch, pool: pool)
        try DenseMath.multiply(x, tokens: n, byTransposeOf: UnsafeBufferPointer(parameters.a(slot)),
                               rows: r, cols: slot.inputs, into: u, pool: pool)
        let delta = scratch.buffer("lora.delta", count: n * slot.outputs)
        try DenseMath.multiply(UnsafeBufferPointer(u), tokens: n, byTransposeOf: UnsafeBufferPointer(parameters.b(slot)),
                               rows: slot.outputs, cols: r, into: delta, pool: pool)
        let s = loraScale
        for i in 0..<y.count { y[i] += s * delta[i] }
    }

    /// From g = ∂L/∂y: adds ∂L/∂A = s·(Bᵀg)ᵀ·drop(x) and ∂L/∂B = s·gᵀu to the parameter
    /// gradients and, when `inputGradient` is given, writes (or adds, with `accumulate`)
    /// ∂L/∂x = Wᵀg + drop′⊙(s·(g·B)·A) into it, drop′ = mask/(1−p) (the forward's mask).
    func backward(input x: UnsafeBufferPointer<Float>, dropout: DropoutMask?, lowRank u: UnsafeBufferPointer<Float>?, tokens n: Int,
                  outputGradient g: UnsafeBufferPointer<Float>,
                  inputGradient dx: UnsafeMutableBufferPointer<Float>?, accumulate: Bool,
                  scratch: ScratchArena, activations: ActivationCache, pool: ThreadPool?) throws {
        if let dx {
            let target = accumulate ? scratch.buffer("lora.dx", count: dx.count) : dx
            if let transposed {
                try transposed.inputGradient(g, tokens: n, scaled: scratch.buffer("lora.scaledG", count: g.count),
                                             activations: activations.buffer(tokens: n, cols: base.outputCount),
                                             into: target, pool: pool)
            } else {
                try base.inputGradient(g, tokens: n, into: target, pool: pool)
            }
            if accumulate { DenseMath.add(UnsafeBufferPointer(target), into: dx) }
        }
        guard let slot, let u else { return }
        let r = parameters.rank, s = loraScale
        let outputs = slot.outputs, inputs = slot.inputs

        // ∂L/∂B[o][k] = s·Σ_t g[t][o]·u[t][k], computed as its transpose uᵀ·g (rank × outputs)
        // so that only the small u is transposed, not g (tokens × outputs).
        let uT = scratch.buffer("lora.uT", count: r * n)
        DenseMath.transpose(u, rows: n, cols: r, into: uT)
        let dBT = scratch.buffer("lora.dBT", count: r * outputs)
        try DenseMath.multiply(UnsafeBufferPointer(uT), tokens: r, by: g, rows: n, cols: outputs, into: dBT, pool: pool)
        let gradB = parameters.gradientB(slot)
        for o in 0..<outputs {
            for k in 0..<r { gradB[o * r + k] += s * dBT[k * outputs + o] }
        }

        // gu = s·g·B (n × rank): the gradient at the low-rank activation.
        let gu = scratch.buffer("lora.gu", count: n * r)
        try DenseMath.multiply(g, tokens: n, by: UnsafeBufferPointer(parameters.b(slot)), rows: outputs, cols: r, into: gu, pool: pool)
        for i in 0..<gu.count { gu[i] *= s }

        // ∂L/∂A = guᵀ·drop(x) (rank × inputs).
        let guT = scratch.buffer("lora.guT", count: r * n)
        DenseMath.transpose(UnsafeBufferPointer(gu), rows: n, cols: r, into: guT)
        let dA = scratch.buffer("lora.dA", count: r * inputs)
        try DenseMath.multiply(UnsafeBufferPointer(guT), tokens: r, by: try dropped(x, tokens: n, dropout: dropout, scratch: scratch, pool: pool),
                               rows: n, cols: inputs, into: dA, pool: pool)
        DenseMath.add(UnsafeBufferPointer(dA), into: parameters.gradientA(slot))

        // ∂L/∂x += drop′⊙(gu·A).
        if let dx {
            let low = scratch.buffer("lora.dxLow", count: n * inputs)
            try DenseMath.multiply(UnsafeBufferPointer(gu), tokens: n, by: UnsafeBufferPointer(parameters.a(slot)),
                                   rows: r, cols: inputs, into: low, pool: pool)
            try dropout?.apply(to: low, tokens: n, width: inputs, site: slot.site, pool: pool)
            DenseMath.add(UnsafeBufferPointer(low), into: dx)
        }
    }

    /// drop(x) in scratch, or x itself without dropout.
    private func dropped(_ x: UnsafeBufferPointer<Float>, tokens n: Int, dropout: DropoutMask?,
                         scratch: ScratchArena, pool: ThreadPool?) throws -> UnsafeBufferPointer<Float> {
        guard let dropout, let slot else { return x }
        let copy = scratch.buffer("lora.dropped", count: n * slot.inputs)
        _ = copy.update(fromContentsOf: x.prefix(n * slot.inputs))
        try dropout.apply(to: copy, tokens: n, width: slot.inputs, site: slot.site, pool: pool)
        return UnsafeBufferPointer(copy)
    }
}
