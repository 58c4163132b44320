import Testing
import TernModel

@Suite struct ModelHyperParametersTests {
    @Test func smolLM2() throws {
        let file = try GGUFFile(path: TestFixtures.modelPath(TestFixtures.smolLM2))
        let hp = try ModelHyperParameters(metadata: file.metadata)
        #expect(hp == ModelHyperParameters(
            architecture: .llama, embeddingLength: 576, blockCount: 30, feedForwardLength: 1536,
            headCount: 9, headCountKV: 3, ropeFreqBase: 100_000, ropeDimensionCount: 64,
            rmsNormEpsilon: Double(Float(1e-5)), contextLength: 8192, vocabularySize: 49152, hiddenActivation: .silu))
        #expect(hp.headDimension == 64)
        let layout = try ModelTensorLayout(file: file, parameters: hp)
        #expect(layout.tiedEmbeddings)
        #expect(layout.layers.count == 30)
        #expect(layout.tokenEmbedding.type == .q8_0)
        #expect(layout.layers[29].down.tensor.dimensions == [1536, 576])
        #expect(layout.layers[0].attentionSubNorm == nil)
        #expect(layout.layers[0].query.scale == nil)
        #expect(file.tensors.count == 272)
    }

    @Test func bitnetTiny() throws {
        let file = try GGUFFile(path: TestFixtures.modelPath(TestFixtures.bitnetTiny))
        let hp = try ModelHyperParameters(metadata: file.metadata)
        #expect(hp.architecture == .bitnet)
        #expect(hp.embeddingLength == 512 && hp.blockCount == 4 && hp.feedForwardLength == 1536)
        #expect(hp.headCount == 8 && hp.headCountKV == 2 && hp.ropeFreqBase == 500_000)
        #expect(hp.hiddenActivation == .silu)
        let layout = try ModelTensorLayout(file: file, parameters: hp)
        #expect(layout.layers.allSatisfy { $0.query.tensor.type == .tq2_0 })
        #expect(layout.layers[3].ffnSubNorm?.dimensions == [1536])
        #expect(layout.layers[0].attentionSubNorm?.dimensions == [512])
        #expect(layout.tiedEmbeddings)
    }

    static func metadata(_ extra: [String: GGUFValue] = [:]) -> [String: GGUFValue] {
        var m: [String: GGUFValue] = [
            "general.architecture": .string("bitnet"),
            "bitnet.embedding_length": .uint32(64), "bitnet.block_count": .uint32(1),
            "bitnet.feed_forward_length": .uint32(128), "bitnet.attention.head_count": .uint32(4),
            "bitnet.context_length": .uint32(256), "bitnet.vocab_size": .uint32(8),
        ]
        m.merge(extra) { $1 }
        return m
    }

    @Test func vocabularySizeIsRequiredWithoutTokens() {
        #expect(throws: ModelError.missingKey("bitnet.vocab_size")) {
            var m = Self.metadata()
            m["bitnet.vocab_size"] = nil
            return try ModelHyperParameters(metadata: m)
        }
    }

    @Test func defaultsAndRelu2() throws {
        let hp = try ModelHyperParameters(metadata: Self.metadata(["bitnet.hidden_activation": .string("relu2")]))
        #expect(hp.hiddenActivation == .relu2)
        #expect(hp.headCountKV == 4 && hp.ropeDimensionCount == 16 && hp.ropeFreqBase == 10_000)
    }

    @Test func rejectsUnknownArchitectureAndBadValues() {
        #expect(throws: ModelError.unknownArchitecture("mamba")) {
            try ModelHyperParameters(metadata: Self.metadata(["general.architecture": .string("mamba")]))
        }
        #expect("\(ModelError.unknownArchitecture("mamba"))".contains("llama, bitnet"))
        #expect(throws: ModelError.missingKey("bitnet.block_count")) {
            var m = Self.metadata()
            m["bitnet.block_count"] = nil
            return try ModelHyperParameters(metadata: m)
        }
        #expect(throws: ModelError.self) { try ModelHyperParameters(metadata: Self.metadata(["bitnet.attention.head_count": .uint32(5)])) }
        #expect(throws: ModelError.self) { try ModelHyperParameters(metadata: Self.metadata(["bitnet.block_count": .uint64(1 << 40)])) }
        #expect(throws: ModelError.self) { try ModelHyperParameters(metadata: Self.metadata(["bitnet.hidden_activation": .string("gelu")])) }
        #expect(throws: ModelError.self) { try ModelHyperParameters(metadata: Self.metadata(["bitnet.attention.head_count_kv": .uint32(3)])) }
    }

    @Test func layoutNamesMissingAndMisshapenTensors() throws {
        let hp = try ModelHyperParameters(metadata: Self.metadata())
        var w = try GGUFWriter()
        for (k, v) in Self.metadata() { try w.set(k, v) }
        try w.addTensor(name: "token_embd.weight", type: .f32, dimensions: [64, 8], data: Array(repeating: 0, count: 64 * 8 * 4))
        try w.addTensor(name: "output_norm.weight", type: .f32, dimensions: [32], data: Array(repeating: 0, count: 128))
        let file = try GGUFFile(bytes: w.serialized())
        #expect(throws: ModelError.tensorShape(tensor: "output_norm.weight", expected: [64], found: [32])) {
            try ModelTensorLayout(file: file, parameters: hp)
        }
        #expect(LayerTensorNames(index: 3).attentionSubNorm == "blk.3.attn_sub_norm.weight")
        #expect(LayerTensorNames.scaleName(of: "blk.0.attn_q.weight") == "blk.0.attn_q.scale")
    }
}
