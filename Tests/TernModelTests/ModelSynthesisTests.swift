import Testing
import TernKernels
import TernModel

@Suite("tern model synth: random-weight bitnet models")
struct ModelSynthesisTests {
    /// A small spec without a tokenizer (the vocabulary size is in `bitnet.vocab_size`).
    private func smallSpec(_ encoding: TernaryEncoding, seed: UInt64 = 7) throws -> SyntheticModelSpec {
        let hp = ModelHyperParameters(
            architecture: .bitnet, embeddingLength: 256, blockCount: 2, feedForwardLength: 512, headCount: 4,
            headCountKV: 2, ropeFreqBase: 500_000, ropeDimensionCount: 64, rmsNormEpsilon: 1e-5, contextLength: 64,
            vocabularySize: 300, hiddenActivation: .relu2)
        return try SyntheticModelSpec(parameters: hp, encoding: encoding, seed: seed, tokenizerMetadata: [])
    }

    @Test("the tiny preset writes a loadable model with SmolLM2's tokenizer whose forward pass runs")
    func tinyPresetLoadsAndRuns() throws {
        let tokenizerPath = try TestFixtures.modelPath(TestFixtures.smolLM2)
        let spec = try SyntheticModelSpec(preset: .bitnetTiny, encoding: .tq2_0, seed: 1,
                                          tokenizer: try GGUFFile(path: tokenizerPath), tokenizerPath: tokenizerPath)
        var reported = 0
        let writer = try ModelSynthesizer.makeWriter(spec) { done, total, _ in
            reported = done
            #expect(total == spec.tensors.count)
        }
        #expect(reported == spec.tensors.count)
        let file = try GGUFFile(bytes: writer.serialized())
        let model = try TransformerModel(file: file)
        let hp = model.parameters
        var expected = SyntheticModelPreset.bitnetTiny.parameters(vocabularySize: 49152)
        expected.rmsNormEpsilon = Double(Float(expected.rmsNormEpsilon))  // stored as float32
        #expect(hp == expected)
        #expect((hp.embeddingLength, hp.blockCount, hp.feedForwardLength, hp.headCount, hp.headCountKV) == (512, 4, 1536, 8, 2))
        #expect(hp.hiddenActivation == .relu2)
        #expect(file.tensor(named: "output.weight") == nil)
        #expect(file.tensor(named: "token_embd.weight")?.type == .f16)
        #expect(file.tensor(named: "blk.3.ffn_down.weight")?.dimensions == [1536, 512])
        #expect(file.tensor(named: "blk.3.ffn_down.weight")?.type == .tq2_0)
        #expect(file.tensor(named: "blk.0.attn_k.weight")?.dimensions == [512, 128])
        #expect(file.tensor(named: "blk.0.ffn_sub_norm.weight")?.type == .f32)

        let tokens = try Tokenizer(metadata: file.metadata).encode("The capital of France is")
        let logits = try InferenceSession(model: model, contextLength: 32).forward(tokens, logits: .all)
        #expect(logits.count == tokens.count * 49152)
        #expect(logits.allSatisfy { $0.isFinite })
        // Random weights still give distinct logits, not a constant row.
        #expect(Set(logits.prefix(49152)).count > 1000)
    }

    @Test("every ternary encoding loads; the same seed writes the same bytes, another seed other bytes")
    func encodingsAndSeeds() throws {
        for encoding in TernaryEncoding.allCases {
            let bytes = try ModelSynthesizer.makeWriter(try smallSpec(encoding)).serialized()
            let file = try GGUFFile(bytes: bytes)
            let model = try TransformerModel(file: file)
            #expect(model.vocabularySize == 300)
            let logits = try InferenceSession(model: model, contextLength: 8).forward([1, 2, 3])
            #expect(logits.count == 300 && logits.allSatisfy { $0.isFinite }, "\(encoding)")
            if encoding == .tq2_0 {
                #expect(try ModelSynthesizer.makeWriter(try smallSpec(encoding)).serialized() == bytes)
                #expect(try ModelSynthesizer.makeWriter(try smallSpec(encoding, seed: 8)).serialized() != bytes)
            }
        }
    }

    @Test("rows that TQ1_0/TQ2_0 cannot store are a clear error naming the tensor")
    func unencodableRows() throws {
        let hp = ModelHyperParameters(
            architecture: .bitnet, embeddingLength: 96, blockCount: 1, feedForwardLength: 256, headCount: 2,
            headCountKV: 1, ropeFreqBase: 10_000, ropeDimensionCount: 48, rmsNormEpsilon: 1e-5, contextLength: 16,
            vocabularySize: 10, hiddenActivation: .relu2)
        #expect(throws: SynthesisError.rowsNotEncodable(tensor: "blk.0.attn_q.weight", rowLength: 96, encoding: "tq2_0")) {
            try SyntheticModelSpec(parameters: hp, encoding: .tq2_0, seed: 1, tokenizerMetadata: [])
        }
        #expect(SynthesisError.tokenizerMissing(path: "/x.gguf").description.contains("/x.gguf"))
    }
}
