import TernKernels

/// Named model shapes for `tern model synth`: random weights in a real checkpoint's layout,
/// so speed can be measured without downloading the checkpoint.
public enum SyntheticModelPreset: String, Sendable, CaseIterable {
    /// BitNet b1.58 2B-4T: hidden 2560, 30 layers, 20 heads, 5 KV heads, FFN 6912, ReLU².
    case bitnet2B4T = "bitnet-2b-4t"
    /// The same family at test size: hidden 512, 4 layers, 8 heads, 2 KV heads, FFN 1536.
    case bitnetTiny = "bitnet-tiny"

    /// The preset's hyper-parameters for a vocabulary of `vocabularySize` tokens.
    public func parameters(vocabularySize: Int) -> ModelHyperParameters {
        let (embd, blocks, ff, heads, kvHeads) = switch self {
        case .bitnet2B4T: (2560, 30, 6912, 20, 5)
        case .bitnetTiny: (512, 4, 1536, 8, 2)
        }
        return ModelHyperParameters(
            architecture: .bitnet, embeddingLength: embd, blockCount: blocks, feedForwardLength: ff,
            headCount: heads, headCountKV: kvHeads, ropeFreqBase: 500_000, ropeDimensionCount: embd / heads,
            rmsNormEpsilon: 1e-5, contextLength: 4096, vocabularySize: vocabularySize, hiddenActivation: .relu2)
    }
}

/// What a synthetic tensor holds, which decides its storage type.
public enum SyntheticTensorRole: Sendable, Equatable {
    /// A projection: absmean-ternarized random weights in the chosen ternary encoding.
    case projection
    /// An RMSNorm weight: F32 ones.
    case norm
    /// The token embedding (also the tied output head): F16 random values, as real
    /// BitNet checkpoints store it.
    case embedding
}

/// One tensor of a synthetic model: GGUF name, GGUF dimensions (row length first) and role.
public struct SyntheticTensor: Sendable, Equatable {
    public let name: String
    public let dimensions: [Int]
    public let role: SyntheticTensorRole

    /// Rows × row length of the stored matrix.
    public var rows: Int { dimensions.dropFirst().reduce(1, *) }
    public var rowLength: Int { dimensions[0] }
}

/// Errors of model synthesis.
public enum SynthesisError: Error, Equatable, CustomStringConvertible {
    case tokenizerMissing(path: String)
    case tokenizerWithoutTokens(path: String)
    case rowsNotEncodable(tensor: String, rowLength: Int, encoding: String)

    public var description: String {
        switch self {
        case .tokenizerMissing(let path):
            return "no tokenizer source at \(path): the synthetic model copies SmolLM2's vocabulary from that GGUF (pass --tokenizer-from FILE)"
        case .tokenizerWithoutTokens(let path):
            return "\(path) has no tokenizer.ggml.tokens array to copy the vocabulary from"
        case .rowsNotEncodable(let t, let n, let e):
            return "tensor '\(t)' has rows of \(n) weights, which \(e) cannot store (needs a multiple of 256)"
        }
    }
}

/// The full description of a random-weight `bitnet` model: hyper-parameters, tensor list and
/// metadata. Pure: `ModelSynthesizer` turns it into bytes.
public struct SyntheticModelSpec: Sendable {
    public let parameters: ModelHyperParameters
    public let encoding: TernaryEncoding
    public let seed: UInt64
    /// `tokenizer.*` entries copied from a real model, in their original order.
    public let tokenizerMetadata: [(key: String, value: GGUFValue)]

    /// - Parameter tokenizer: a GGUF whose `tokenizer.*` metadata (and so vocabulary size) the
    ///   model takes over.
    public init(preset: SyntheticModelPreset, encoding: TernaryEncoding, seed: UInt64, tokenizer: GGUFFile,
                tokenizerPath: String) throws {
        guard let tokens = tokenizer.metadata["tokenizer.ggml.tokens"]?.arrayValue, !tokens.isEmpty else {
            throw SynthesisError.tokenizerWithoutTokens(path: tokenizerPath)
        }
        let entries = tokenizer.metadataKeys.filter { $0.hasPrefix("tokenizer.") }.compactMap { key in
            tokenizer.metadata[key].map { (key: key, value: $0) }
        }
        try self.init(parameters: preset.parameters(vocabularySize: tokens.count), encoding: encoding, seed: seed,
                      tokenizerMetadata: entries)
    }

    public init(parameters: ModelHyperParameters, encoding: TernaryEncoding, seed: UInt64,
                tokenizerMetadata: [(key: String, value: GGUFValue)]) throws {
        self.parameters = parameters
        self.encoding = encoding
        self.seed = seed
        self.tokenizerMetadata = tokenizerMetadata
        if encoding != .i2s {
            for t in tensors where t.role == .projection && t.rowLength % 256 != 0 {
                throw SynthesisError.rowsNotEncodable(tensor: t.name, rowLength: t.rowLength, encoding: encoding.rawValue)
            }
        }
    }

    /// Every tensor in llama.cpp's order: embedding, blocks, output norm. The output head is
    /// tied to the embedding (no `output.weight`), as in BitNet b1.58 2B-4T.
    public var tensors: [SyntheticTensor] {
        let hp = parameters
        let e = hp.embeddingLength, kv = hp.headCountKV * hp.headDimension, ff = hp.feedForwardLength
        var list = [SyntheticTensor(name: ModelTensorLayout.tokenEmbedding, dimensions: [e, hp.vocabularySize], role: .embedding)]
        for i in 0..<hp.blockCount {
            let n = LayerTensorNames(index: i)
            list += [
                SyntheticTensor(name: n.attentionNorm, dimensions: [e], role: .norm),
                SyntheticTensor(name: n.query, dimensions: [e, e], role: .projection),
                SyntheticTensor(name: n.key, dimensions: [e, kv], role: .projection),
                SyntheticTensor(name: n.value, dimensions: [e, kv], role: .projection),
                SyntheticTensor(name: n.attentionSubNorm, dimensions: [e], role: .norm),
                SyntheticTensor(name: n.attentionOutput, dimensions: [e, e], role: .projection),
                SyntheticTensor(name: n.ffnNorm, dimensions: [e], role: .norm),
                SyntheticTensor(name: n.gate, dimensions: [e, ff], role: .projection),
                SyntheticTensor(name: n.up, dimensions: [e, ff], role: .projection),
                SyntheticTensor(name: n.ffnSubNorm, dimensions: [ff], role: .norm),
                SyntheticTensor(name: n.down, dimensions: [ff, e], role: .projection),
            ]
        }
        list.append(SyntheticTensor(name: ModelTensorLayout.outputNorm, dimensions: [e], role: .norm))
        return list
    }

    /// `general.*` and `bitnet.*` keys, then the copied tokenizer.
    public var metadata: [(key: String, value: GGUFValue)] {
        let hp = parameters
        let a = hp.architecture.rawValue + "."
        var m: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string(hp.architecture.rawValue)),
            ("general.name", .string("tern synthetic \(hp.architecture.rawValue) \(hp.embeddingLength)x\(hp.blockCount) (random weights)")),
            (a + "context_length", .uint32(UInt32(hp.contextLength))),
            (a + "embedding_length", .uint32(UInt32(hp.embeddingLength))),
            (a + "block_count", .uint32(UInt32(hp.blockCount))),
            (a + "feed_forward_length", .uint32(UInt32(hp.feedForwardLength))),
            (a + "attention.head_count", .uint32(UInt32(hp.headCount))),
            (a + "attention.head_count_kv", .uint32(UInt32(hp.headCountKV))),
            (a + "rope.dimension_count", .uint32(UInt32(hp.ropeDimensionCount))),
            (a + "rope.freq_base", .float32(Float(hp.ropeFreqBase))),
            (a + "attention.layer_norm_rms_epsilon", .float32(Float(hp.rmsNormEpsilon))),
            (a + "vocab_size", .uint32(UInt32(hp.vocabularySize))),
            (a + "hidden_activation", .string(hp.hiddenActivation.rawValue)),
        ]
        m += tokenizerMetadata
        return m
    }
}
