import Foundation
import Testing
import TernKernels
import TernModel

/// `tern adapter merge` and `export-peft` on the llama.cpp-trained fixture.
@Suite struct LoRAExportTests {
    var fixture: LoRAAdapter {
        get throws { try LoRAAdapterFile.read(path: TestFixtures.referenceDirectory.appendingPathComponent(LoRAAdapterFileTests.fixture).path) }
    }

    var base: GGUFFile { get throws { try GGUFFile(path: try TestFixtures.modelPath(TestFixtures.smolLM2)) } }

    /// The fixture restricted to its first two blocks (keeps the merged copy small).
    func firstBlocks() throws -> LoRAAdapter {
        var adapter = try fixture
        adapter.weights = adapter.weights.filter { $0.key.layer < 2 }
        return adapter
    }

    @Test func mergedModelMatchesTheUnmergedAdapter() throws {
        let base = try base
        let adapter = try firstBlocks()
        let writer = try LoRAMerge.merged(base: base, adapter: adapter, storage: .f32)
        let merged = try GGUFFile(bytes: writer.serialized())
        for tensor in merged.tensors {
            let original = try #require(base.tensor(named: tensor.name))
            let modified = adapter.sites.contains { $0.baseTensorName == tensor.name }
            #expect(tensor.type == (modified ? .f32 : original.type), "\(tensor.name)")
            #expect(tensor.dimensions == original.dimensions)
        }
        #expect(merged.metadataKeys == base.metadataKeys)

        let tokens = try Tokenizer(file: base).encode("<|im_start|>user\nName three colours.<|im_end|>\n<|im_start|>assistant\n")
        func logits(_ model: TransformerModel) throws -> [Float] {
            try InferenceSession(model: model, contextLength: tokens.count, pool: ThreadPool(), precision: .float32)
                .forward(tokens, logits: .all)
        }
        let unmerged = try logits(try TransformerModel(file: base, adapter: adapter))
        let folded = try logits(try TransformerModel(file: merged))
        let plain = try logits(try TransformerModel(file: base))
        let maxDifference = zip(unmerged, folded).map { abs($0 - $1) }.max()!
        #expect(maxDifference < 1e-3)
        #expect(zip(unmerged, plain).map { abs($0 - $1) }.max()! > 100 * maxDifference, "the adapter moves the logits")

        let half = try LoRAMerge.merged(base: base, adapter: adapter, storage: .f16)
        #expect(half.tensors.filter { $0.type == .f16 }.count == adapter.weights.count)
    }

    /// A random adapter on every projection of blocks 0 and 3 of the ternary bitnet model:
    /// merging must dequantize TQ2_0 exactly, and bitnet's Q/K rows are not permuted on export.
    @Test func ternaryBaseMergesAndExportsWithoutPermutation() throws {
        let file = try GGUFFile(path: try TestFixtures.modelPath(TestFixtures.bitnetTiny))
        var random = RandomSource(seed: 42)
        var adapter = LoRAAdapter(rank: 4, alpha: 8)
        for layer in [0, 3] {
            for target in LoRATarget.allCases {
                let base = try #require(file.tensor(named: LoRASite(layer: layer, target: target).baseTensorName))
                var pair = LoRAWeights.initial(inputs: base.rowLength, outputs: base.rowCount, rank: 4, random: &random)
                pair.b = pair.b.map { _ in Float(random.nextUnit() - 0.5) * 0.2 }
                adapter.weights[LoRASite(layer: layer, target: target)] = pair
            }
        }
        let merged = try GGUFFile(bytes: try LoRAMerge.merged(base: file, adapter: adapter, storage: .f32).serialized())
        let tokens: [Int32] = [1, 504, 2843, 314, 260, 1345, 30]
        func logits(_ model: TransformerModel) throws -> [Float] {
            try InferenceSession(model: model, contextLength: tokens.count, pool: ThreadPool(), precision: .float32)
                .forward(tokens, logits: .all)
        }
        let unmerged = try logits(try TransformerModel(file: file, adapter: adapter))
        let folded = try logits(try TransformerModel(file: merged))
        let plain = try logits(try TransformerModel(file: file))
        let maxDifference = zip(unmerged, folded).map { abs($0 - $1) }.max()!
        #expect(maxDifference < 1e-3)
        #expect(zip(unmerged, plain).map { abs($0 - $1) }.max()! > 100 * maxDifference)

        let export = try PEFTExport(adapter: adapter, baseModel: file)
        #expect(export.llamaHeads == nil)
        let (header, data) = try parseSafeTensors(try export.safetensors())
        let qB = try floats(header["base_model.model.model.layers.3.self_attn.q_proj.lora_B.weight"], in: data)
        #expect(qB.values == adapter.weights[LoRASite(layer: 3, target: .attentionQuery)]!.b)
    }

    /// Tensors of a safetensors file: header entries and the data section.
    func parseSafeTensors(_ bytes: [UInt8]) throws -> (header: [String: Any], data: ArraySlice<UInt8>) {
        let length = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + length) % 8 == 0, "the header is padded to 8 bytes")
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as? [String: Any])
        return (header, bytes[(8 + length)...])
    }

    func floats(_ entry: Any?, in data: ArraySlice<UInt8>) throws -> (shape: [Int], values: [Float]) {
        let info = try #require(entry as? [String: Any])
        #expect(info["dtype"] as? String == "F32")
        let offsets = try #require(info["data_offsets"] as? [Int])
        let raw = Array(data[(data.startIndex + offsets[0])..<(data.startIndex + offsets[1])])
        let values = stride(from: 0, to: raw.count, by: 4).map { i in
            Float(bitPattern: UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3]) << 24)
        }
        return (try #require(info["shape"] as? [Int]), values)
    }

    @Test func peftExportFollowsHuggingFaceConventions() throws {
        let adapter = try fixture
        let export = try PEFTExport(adapter: adapter, baseModel: try base, baseModelName: "HuggingFaceTB/SmolLM2-135M-Instruct")
        let (header, data) = try parseSafeTensors(try export.safetensors())
        #expect(header.count == 2 * 7 * 30 + 1)
        #expect((header["__metadata__"] as? [String: String])?["format"] == "pt")

        // Offsets tile the data section exactly.
        let spans = header.filter { $0.key != "__metadata__" }.compactMap { ($0.value as? [String: Any])?["data_offsets"] as? [Int] }
            .sorted { $0[0] < $1[0] }
        #expect(spans.first?[0] == 0 && spans.last?[1] == data.count)
        #expect(zip(spans, spans.dropFirst()).allSatisfy { $0[1] == $1[0] })

        let v = adapter.weights[LoRASite(layer: 7, target: .attentionValue)]!
        let vA = try floats(header["base_model.model.model.layers.7.self_attn.v_proj.lora_A.weight"], in: data)
        let vB = try floats(header["base_model.model.model.layers.7.self_attn.v_proj.lora_B.weight"], in: data)
        #expect(vA.shape == [8, 576] && vA.values == v.a)
        #expect(vB.shape == [192, 8] && vB.values == v.b)
        let down = try floats(header["base_model.model.model.layers.0.mlp.down_proj.lora_A.weight"], in: data)
        #expect(down.shape == [8, 1536])

        // Q rows go back to Hugging Face's half-split order (head dimension 64): Hugging Face
        // row h·64 + j·32 + i is GGUF row h·64 + 2i + j.
        let q = adapter.weights[LoRASite(layer: 3, target: .attentionQuery)]!
        let qB = try floats(header["base_model.model.model.layers.3.self_attn.q_proj.lora_B.weight"], in: data)
        func ggufRow(_ row: Int) -> ArraySlice<Float> { q.b[(row * 8)..<((row + 1) * 8)] }
        func hfRow(_ row: Int) -> ArraySlice<Float> { qB.values[(row * 8)..<((row + 1) * 8)] }
        #expect(qB.shape == [576, 8])
        #expect(hfRow(0) == ggufRow(0) && hfRow(1) == ggufRow(2) && hfRow(32) == ggufRow(1) && hfRow(33) == ggufRow(3))
        #expect(hfRow(64 + 31) == ggufRow(64 + 62) && hfRow(8 * 64 + 63) == ggufRow(8 * 64 + 63))
        #expect(qB.values.sorted() == q.b.sorted())
        let k = adapter.weights[LoRASite(layer: 3, target: .attentionKey)]!
        let kB = try floats(header["base_model.model.model.layers.3.self_attn.k_proj.lora_B.weight"], in: data)
        #expect(kB.values[(32 * 8)..<(33 * 8)] == k.b[(1 * 8)..<(2 * 8)])

        let config = try #require(try JSONSerialization.jsonObject(with: try export.config()) as? [String: Any])
        #expect(config["peft_type"] as? String == "LORA" && config["task_type"] as? String == "CAUSAL_LM")
        #expect(config["r"] as? Int == 8 && config["lora_alpha"] as? Double == 16)
        #expect(config["base_model_name_or_path"] as? String == "HuggingFaceTB/SmolLM2-135M-Instruct")
        #expect(config["target_modules"] as? [String] == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    }
}
