/// GGUF tensor names of one transformer block (llama.cpp naming: `blk.N.<role>.weight`).
public struct LayerTensorNames: Sendable, Equatable {
    public let index: Int
    public init(index: Int) { self.index = index }

    private func name(_ role: String) -> String { "blk.\(index).\(role).weight" }
    public var attentionNorm: String { name("attn_norm") }
    public var query: String { name("attn_q") }
    public var key: String { name("attn_k") }
    public var value: String { name("attn_v") }
    public var attentionOutput: String { name("attn_output") }
    public var ffnNorm: String { name("ffn_norm") }
    public var gate: String { name("ffn_gate") }
    public var up: String { name("ffn_up") }
    public var down: String { name("ffn_down") }
    /// bitnet only: RMS norm applied before `attn_output`.
    public var attentionSubNorm: String { name("attn_sub_norm") }
    /// bitnet only: RMS norm applied before `ffn_down`.
    public var ffnSubNorm: String { name("ffn_sub_norm") }

    /// Name of the optional per-tensor scale of a weight (`blk.N.attn_q.scale`).
    public static func scaleName(of weight: String) -> String {
        weight.hasSuffix(".weight") ? String(weight.dropLast(".weight".count)) + ".scale" : weight + ".scale"
    }
}

/// One weight of a model, with its optional per-tensor `.scale` companion.
public struct ModelWeight: Sendable, Equatable {
    public let tensor: GGUFTensorInfo
    public let scale: GGUFTensorInfo?
}

/// The tensors of one block, checked for presence and shape.
public struct LayerTensors: Sendable, Equatable {
    public let attentionNorm, ffnNorm: GGUFTensorInfo
    public let query, key, value, attentionOutput, gate, up, down: ModelWeight
    public let attentionSubNorm, ffnSubNorm: GGUFTensorInfo?
}

/// Every tensor a forward pass needs, found by name and checked against the
/// hyper-parameters, so that a mismatched file fails at load time with the tensor's name.
public struct ModelTensorLayout: Sendable, Equatable {
    public static let tokenEmbedding = "token_embd.weight"
    public static let outputNorm = "output_norm.weight"
    public static let output = "output.weight"

    public let tokenEmbedding: GGUFTensorInfo
    public let outputNorm: GGUFTensorInfo
    /// nil when the model ties its output projection to the token embedding.
    public let output: ModelWeight?
    public let layers: [LayerTensors]

    public var tiedEmbeddings: Bool { output == nil }

    public init(file: GGUFFile, parameters hp: ModelHyperParameters) throws {
        func find(_ name: String, _ shape: [Int]) throws -> GGUFTensorInfo {
            guard let t = file.tensor(named: name) else { throw ModelError.missingTensor(name) }
            guard t.dimensions == shape else { throw ModelError.tensorShape(tensor: name, expected: shape, found: t.dimensions) }
            return t
        }
        func weight(_ name: String, _ shape: [Int]) throws -> ModelWeight {
            ModelWeight(tensor: try find(name, shape), scale: file.tensor(named: LayerTensorNames.scaleName(of: name)))
        }
        let embd = hp.embeddingLength
        let kv = hp.headCountKV * hp.headDimension
        let ff = hp.feedForwardLength
        tokenEmbedding = try find(Self.tokenEmbedding, [embd, hp.vocabularySize])
        outputNorm = try find(Self.outputNorm, [embd])
        output = file.tensor(named: Self.output) == nil ? nil : try weight(Self.output, [embd, hp.vocabularySize])
        let isBitnet = hp.architecture == .bitnet
        layers = try (0..<hp.blockCount).map { i in
            let n = LayerTensorNames(index: i)
            return LayerTensors(
                attentionNorm: try find(n.attentionNorm, [embd]),
                ffnNorm: try find(n.ffnNorm, [embd]),
                query: try weight(n.query, [embd, embd]),
                key: try weight(n.key, [embd, kv]),
                value: try weight(n.value, [embd, kv]),
                attentionOutput: try weight(n.attentionOutput, [embd, embd]),
                gate: try weight(n.gate, [embd, ff]),
                up: try weight(n.up, [embd, ff]),
                down: try weight(n.down, [ff, embd]),
                attentionSubNorm: isBitnet ? try find(n.attentionSubNorm, [embd]) : nil,
                ffnSubNorm: isBitnet ? try find(n.ffnSubNorm, [ff]) : nil)
        }
    }
}
