/// The shape of a llama/bitnet transformer, read from `<arch>.*` GGUF metadata.
public struct ModelHyperParameters: Sendable, Equatable, Codable {
    public var architecture: ModelArchitecture
    public var embeddingLength: Int
    public var blockCount: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var headCountKV: Int
    /// Length of one attention head (`embeddingLength / headCount`).
    public var headDimension: Int { embeddingLength / headCount }
    public var ropeFreqBase: Double
    /// Leading dimensions of each head that RoPE rotates.
    public var ropeDimensionCount: Int
    public var rmsNormEpsilon: Double
    public var contextLength: Int
    public var vocabularySize: Int
    public var hiddenActivation: HiddenActivation

    /// Anything above this is treated as a corrupt value rather than a real model.
    static let sanityLimit = 1 << 24

    public init(
        architecture: ModelArchitecture, embeddingLength: Int, blockCount: Int, feedForwardLength: Int,
        headCount: Int, headCountKV: Int, ropeFreqBase: Double, ropeDimensionCount: Int,
        rmsNormEpsilon: Double, contextLength: Int, vocabularySize: Int, hiddenActivation: HiddenActivation
    ) {
        self.architecture = architecture
        self.embeddingLength = embeddingLength
        self.blockCount = blockCount
        self.feedForwardLength = feedForwardLength
        self.headCount = headCount
        self.headCountKV = headCountKV
        self.ropeFreqBase = ropeFreqBase
        self.ropeDimensionCount = ropeDimensionCount
        self.rmsNormEpsilon = rmsNormEpsilon
        self.contextLength = contextLength
        self.vocabularySize = vocabularySize
        self.hiddenActivation = hiddenActivation
    }

    /// Reads and checks the hyper-parameters. Optional keys get llama.cpp's defaults:
    /// rope base 10000, rope dims = head dim, eps 1e-5, KV heads = heads, vocab = token count.
    public init(metadata: [String: GGUFValue]) throws {
        guard let name = metadata["general.architecture"]?.stringValue else {
            throw ModelError.missingKey("general.architecture")
        }
        guard let arch = ModelArchitecture(rawValue: name) else { throw ModelError.unknownArchitecture(name) }
        let p = name + "."

        func int(_ key: String, default fallback: Int? = nil) throws -> Int {
            guard let value = metadata[p + key] else {
                if let fallback { return fallback }
                throw ModelError.missingKey(p + key)
            }
            guard let v = value.intValue, v > 0, v <= Self.sanityLimit else {
                throw ModelError.badValue(key: p + key, reason: "expected a positive integer up to \(Self.sanityLimit), found \(value.summary)")
            }
            return v
        }
        func double(_ key: String, default fallback: Double) throws -> Double {
            guard let value = metadata[p + key] else { return fallback }
            guard let v = value.doubleValue, v.isFinite, v > 0 else {
                throw ModelError.badValue(key: p + key, reason: "expected a positive number, found \(value.summary)")
            }
            return v
        }

        let embd = try int("embedding_length")
        let heads = try int("attention.head_count")
        guard embd % heads == 0 else {
            throw ModelError.badValue(key: p + "attention.head_count", reason: "\(heads) heads do not divide embedding length \(embd)")
        }
        let kvHeads = try int("attention.head_count_kv", default: heads)
        guard heads % kvHeads == 0 else {
            throw ModelError.badValue(key: p + "attention.head_count_kv", reason: "\(kvHeads) KV heads do not divide \(heads) heads")
        }
        let ropeDims = try int("rope.dimension_count", default: embd / heads)
        guard ropeDims <= embd / heads, ropeDims % 2 == 0 else {
            throw ModelError.badValue(key: p + "rope.dimension_count", reason: "\(ropeDims) must be even and at most the head dimension \(embd / heads)")
        }
        let tokenCount = metadata["tokenizer.ggml.tokens"]?.arrayValue?.count
        let activation: HiddenActivation
        if let raw = metadata[p + "hidden_activation"] {
            guard let s = raw.stringValue, let a = HiddenActivation(rawValue: s) else {
                throw ModelError.badValue(key: p + "hidden_activation", reason: "expected 'silu' or 'relu2', found \(raw.summary)")
            }
            activation = a
        } else {
            activation = .silu
        }

        self.init(
            architecture: arch,
            embeddingLength: embd,
            blockCount: try int("block_count"),
            feedForwardLength: try int("feed_forward_length"),
            headCount: heads,
            headCountKV: kvHeads,
            ropeFreqBase: try double("rope.freq_base", default: 10_000),
            ropeDimensionCount: ropeDims,
            rmsNormEpsilon: try double("attention.layer_norm_rms_epsilon", default: 1e-5),
            contextLength: try int("context_length", default: 2048),
            vocabularySize: try int("vocab_size", default: tokenCount),
            hiddenActivation: activation)
        if let tokenCount, tokenCount != vocabularySize {
            throw ModelError.badValue(key: p + "vocab_size", reason: "\(vocabularySize) differs from the \(tokenCount) tokenizer tokens")
        }
    }
}
