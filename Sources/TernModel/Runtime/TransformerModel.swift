import TernKernels

/// The weights of one transformer block, ready for inference.
public struct TransformerBlock: Sendable {
    public let attentionNorm: [Float]
    public let ffnNorm: [Float]
    public let query, key, value, attentionOutput, gate, up, down: Linear
    /// bitnet only: RMS norms before `attentionOutput` and before `down`.
    public let attentionSubNorm: [Float]?
    public let ffnSubNorm: [Float]?

    init(_ t: LayerTensors, source: WeightSource, layer: Int, adapter: LoRAAdapter?) throws {
        let file = source.file
        attentionNorm = try floatVector(t.attentionNorm, file: file)
        ffnNorm = try floatVector(t.ffnNorm, file: file)
        query = try Linear(t.query, source: source).attaching(adapter, layer: layer, target: .attentionQuery)
        key = try Linear(t.key, source: source).attaching(adapter, layer: layer, target: .attentionKey)
        value = try Linear(t.value, source: source).attaching(adapter, layer: layer, target: .attentionValue)
        attentionOutput = try Linear(t.attentionOutput, source: source).attaching(adapter, layer: layer, target: .attentionOutput)
        gate = try Linear(t.gate, source: source).attaching(adapter, layer: layer, target: .feedForwardGate)
        up = try Linear(t.up, source: source).attaching(adapter, layer: layer, target: .feedForwardUp)
        down = try Linear(t.down, source: source).attaching(adapter, layer: layer, target: .feedForwardDown)
        attentionSubNorm = try t.attentionSubNorm.map { try floatVector($0, file: file) }
        ffnSubNorm = try t.ffnSubNorm.map { try floatVector($0, file: file) }
    }
}

/// A llama or bitnet model loaded for inference: weights stay in their stored form
/// (ternary repacked, quantized and float viewed in the mapped file). Immutable and
/// shareable; the per-conversation state lives in an `InferenceSession`.
public final class TransformerModel: Sendable {
    public let file: GGUFFile
    public let parameters: ModelHyperParameters
    /// The LoRA adapter applied unmerged in every forward pass, if any.
    public let adapter: LoRAAdapter?
    /// Token embeddings; only the rows of the tokens being run are read and dequantized.
    public let tokenEmbedding: TokenEmbedding
    public let outputNorm: [Float]
    /// The output head: `output.weight`, or the token embedding when the model ties them.
    public let output: Linear
    /// The output head as Q8_0 when the file stores it as F32/F16/BF16 (see
    /// `LinearWeights.requantizedToQ8_0`); int8 and int16 sessions multiply with it.
    let quantizedOutput: Linear?
    public let blocks: [TransformerBlock]

    /// What this load did with the layout cache (`.disabled` when none was given).
    public let layoutCacheOutcome: LayoutCacheOutcome

    /// - Parameter quantizeFloatHead: re-encode an F32/F16/BF16 output head as Q8_0 for
    ///   sessions with int8 activations: half the bytes per decode step, at a slightly
    ///   higher KL against the float reference (docs/runtime.md), so it is opt-in.
    ///   Float32 sessions always use the stored head.
    public convenience init(path: String, quantizeFloatHead: Bool = false, pool: ThreadPool? = nil,
                            layoutCache: LayoutCache? = nil) throws {
        try self.init(file: try GGUFFile(path: path), quantizeFloatHead: quantizeFloatHead, pool: pool,
                      layoutCache: layoutCache)
    }

    /// `adapter`, when given, must fit the model (`LoRAAdapterFile.validate`). Repacking
    /// runs on `pool` (bit-identical for any thread count). With `layoutCache`, the
    /// repacked weights are read from its file for this model when one validates, and
    /// written to it otherwise (`layoutCacheOutcome` says which).
    public init(file: GGUFFile, adapter: LoRAAdapter? = nil, quantizeFloatHead: Bool = false, pool: ThreadPool? = nil,
                layoutCache: LayoutCache? = nil) throws {
        let hp = try ModelHyperParameters(metadata: file.metadata)
        let layout = try ModelTensorLayout(file: file, parameters: hp)
        if let adapter { try LoRAAdapterFile.validate(adapter, against: file) }
        self.file = file
        self.adapter = adapter
        parameters = hp
        let source = WeightSource(file: file, pool: pool, cache: layoutCache, quantizedHead: quantizeFloatHead)
        let embedding = try source.weights(layout.tokenEmbedding)
        outputNorm = try floatVector(layout.outputNorm, file: file)
        if let head = layout.output {
            output = try Linear(head, source: source)
        } else {
            output = try Linear(tensor: layout.tokenEmbedding, scale: nil, source: source)
        }
        if quantizeFloatHead, let q8 = try source.quantizedHead(of: output) {
            quantizedOutput = Linear(name: output.name, weights: .blockQuant(q8), outputScale: output.outputScale)
        } else {
            quantizedOutput = nil
        }
        blocks = try layout.layers.enumerated().map { try TransformerBlock($1, source: source, layer: $0, adapter: adapter) }
        // Rows come from the file unless the embedding is also a head that integer sessions
        // multiply by in its stored form (then it is resident anyway). A float32 session of
        // a tied model with a Q8_0 head still multiplies by the stored one, through the mapping.
        tokenEmbedding = TokenEmbedding(weights: embedding, tensor: layout.tokenEmbedding, file: file,
                                        readFromFile: layout.output != nil || quantizedOutput != nil)
        layoutCacheOutcome = source.finish()
    }

    public var vocabularySize: Int { parameters.vocabularySize }

    /// RoPE pairing: llama.cpp rotates adjacent pairs for `llama` and halves for `bitnet`.
    public var ropeLayout: RoPELayout { parameters.architecture == .bitnet ? .neox : .adjacentPairs }

    public var activation: FFNActivation { parameters.hiddenActivation == .relu2 ? .relu2 : .silu }
}
