import Foundation
import Testing
import TernMesh
import TernModel
import TernNode

/// `TrainJob` on a tiny float model with a byte-level tokenizer, written to a temporary
/// directory: a few steps of 16-token sequences take milliseconds even in debug builds.
@Suite final class TrainJobTests {
    let directory: URL
    let modelPath: String
    let datasetPath: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tern-train-job-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        modelPath = directory.appendingPathComponent("tiny.gguf").path
        try TinyTrainModel.writer(embedding: 16).write(to: modelPath)
        // 271 byte tokens: 18 windows of 16 that share one token each, every one full.
        datasetPath = directory.appendingPathComponent("data.txt").path
        try (String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 6) + "!")
            .write(toFile: datasetPath, atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func file(_ name: String, _ contents: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func options(steps: Int = 3, trainFactor: String? = nil) -> TrainJobOptions {
        TrainJobOptions(steps: steps, learningRate: 0.01, rank: 2, alpha: 4, modules: ["attn_q", "attn_v", "ffn_down"],
                        sequenceLength: 16, batchSize: 2, seed: 5, trainFactor: trainFactor)
    }

    func run(_ options: TrainJobOptions, dataset: String? = nil, adapter: String? = nil) throws -> TrainJobResult {
        try TrainJob.run(modelPath: modelPath, datasetPath: dataset ?? datasetPath, inputAdapterPath: adapter,
                         options: options, progress: { _ in })
    }

    func adapter(_ bytes: [UInt8]) throws -> LoRAAdapter {
        try LoRAAdapterFile(file: try GGUFFile(bytes: bytes), path: "result").adapter
    }

    @Test func twoRunsAreBitIdenticalAndReportEveryStep() throws {
        var seen: [(Int, Double)] = []
        let first = try TrainJob.run(modelPath: modelPath, datasetPath: datasetPath, inputAdapterPath: nil, options: options(),
                                     progress: { seen.append(($0.step, $0.loss)) })
        let second = try run(options())
        #expect(first.adapterBytes == second.adapterBytes)
        #expect(first.stepChain == second.stepChain && first.stepChain.count == 3)
        #expect(first.losses == second.losses && first.losses.count == 3)
        #expect(first.losses.allSatisfy { $0.isFinite && $0 > 0 } && first.meanLoss.isFinite)
        #expect(seen.map(\.0) == [1, 2, 3] && seen.map(\.1) == first.losses)
        #expect(first.tokens == 3 * 2 * 15)
        var folded = StepHashChain()
        for result in first.stepResults { folded.append(result) }
        #expect(folded == first.stepChain)
        let trained = try adapter(first.adapterBytes)
        // The last step's hash is the hash of the adapter the job returns: a requester checks
        // a result against the chain its receipt signs without re-running it.
        #expect(try TrainJob.parameterHash(of: trained) == first.stepResults.last)
        #expect(trained.rank == 2 && trained.alpha == 4 && trained.sites.count == 2 * 3)
        // A different seed is a different job.
        var reseeded = options()
        reseeded.seed = 6
        #expect(try run(reseeded).stepChain.root != first.stepChain.root)
    }

    @Test func trainingOneFactorLeavesTheOtherExactlyAsItCame() throws {
        // Two steps of both factors first: from a fresh adapter (B = 0) A gets no gradient.
        let start = directory.appendingPathComponent("start.gguf").path
        try Data(try run(options(steps: 2)).adapterBytes).write(to: URL(fileURLWithPath: start))
        let input = try LoRAAdapterFile.read(path: start)

        let cases: [(factor: String, trained: KeyPath<LoRAWeights, [Float]>, frozen: KeyPath<LoRAWeights, [Float]>)] =
            [("A", \.a, \.b), ("B", \.b, \.a)]
        for (factor, trained, frozen) in cases {
            let result = try run(options(trainFactor: factor), adapter: start)
            #expect(result.losses.allSatisfy { $0.isFinite })
            let output = try adapter(result.adapterBytes)
            #expect(output.sites == input.sites)
            for site in input.sites {
                #expect(output.weights[site]![keyPath: frozen] == input.weights[site]![keyPath: frozen], "\(factor): \(site)")
            }
            #expect(input.sites.contains { output.weights[$0]![keyPath: trained] != input.weights[$0]![keyPath: trained] })
        }
    }

    @Test func badInputsGiveClearErrors() throws {
        let missing = directory.appendingPathComponent("nope.jsonl").path
        #expect(throws: TrainJobError.missingFile(role: "dataset", path: missing)) { try run(options(), dataset: missing) }
        #expect(throws: TrainJobError.missingFile(role: "input adapter", path: missing)) { try run(options(), adapter: missing) }

        for (name, contents) in [("empty.txt", "  \n"), ("neither.jsonl", #"{"text": "hi"}"#),
                                 ("broken.jsonl", "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"prompt\": 3}\n"),
                                 ("garbled.jsonl", "{not json")] {
            let path = try file(name, contents)
            #expect {
                try run(options(), dataset: path)
            } throws: { error in
                guard case let .badDataset(at, reason)? = error as? TrainJobError else { return false }
                return at == path && !reason.isEmpty
            }
        }

        for bad in [0, -1, TrainJobOptions.maxSteps + 1] {
            #expect(throws: TrainJobError.self) { try run(options(steps: bad)) }
        }
        var unknownModule = options()
        unknownModule.modules = ["attn_z"]
        var badFactor = options()
        badFactor.trainFactor = "C"
        var badRate = options()
        badRate.learningRate = .nan
        for invalid in [unknownModule, badFactor, badRate] {
            #expect {
                try run(invalid)
            } throws: { error in
                guard case .invalidOption? = error as? TrainJobError else { return false }
                return true
            }
        }

        let notAModel = try file("model.txt", "not a gguf")
        #expect {
            try TrainJob.run(modelPath: notAModel, datasetPath: datasetPath, inputAdapterPath: nil, options: options(),
                             progress: { _ in })
        } throws: { error in
            guard case .badModel? = error as? TrainJobError else { return false }
            return true
        }
    }

    @Test func anAdapterThatDoesNotFitIsRefused() throws {
        let adapterPath = directory.appendingPathComponent("adapter.gguf").path
        try Data(try run(options(steps: 1)).adapterBytes).write(to: URL(fileURLWithPath: adapterPath))
        var otherRank = options(), otherModules = options()
        otherRank.rank = 4
        otherModules.modules = ["attn_q"]
        for mismatched in [otherRank, otherModules] {
            #expect {
                try run(mismatched, adapter: adapterPath)
            } throws: { error in
                guard case .badAdapter? = error as? TrainJobError else { return false }
                return true
            }
        }
        // Trained on a model of another width: the shapes do not fit.
        let wider = directory.appendingPathComponent("wider.gguf").path
        try TinyTrainModel.writer(embedding: 24).write(to: wider)
        #expect {
            try TrainJob.run(modelPath: wider, datasetPath: datasetPath, inputAdapterPath: adapterPath, options: options(),
                             progress: { _ in })
        } throws: { error in
            guard case .badAdapter? = error as? TrainJobError else { return false }
            return true
        }
    }

    @Test func optionsHashNamesEveryField() throws {
        let base = options()
        #expect(base.canonicalBytes() == options().canonicalBytes())
        var variants: [TrainJobOptions] = []
        func variant(_ change: (inout TrainJobOptions) -> Void) {
            var copy = base
            change(&copy)
            variants.append(copy)
        }
        variant { $0.steps = 4 }
        variant { $0.learningRate = 0.02 }
        variant { $0.rank = 3 }
        variant { $0.alpha = 5 }
        variant { $0.modules = ["attn_v", "attn_q", "ffn_down"] }
        variant { $0.sequenceLength = 17 }
        variant { $0.batchSize = 1 }
        variant { $0.seed = 6 }
        variant { $0.trainFactor = "A" }
        variant { $0.format = "text" }
        let hashes = Set(([base] + variants).map(\.hash))
        #expect(hashes.count == variants.count + 1)
        let decoded = try JSONDecoder().decode(TrainJobOptions.self, from: try JSONEncoder().encode(variants.last!))
        #expect(decoded == variants.last!)
    }
}

/// A random float32 llama model with a byte-level BPE tokenizer (256 byte tokens and three
/// specials), so any UTF-8 text trains and token counts are byte counts.
enum TinyTrainModel {
    static func writer(embedding e: Int, layers: Int = 2) throws -> GGUFWriter {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        var shifted = 0
        let byteTokens: [String] = (0..<256).map { byte in
            if printable.contains(byte) { return String(UnicodeScalar(UInt8(byte))) }
            defer { shifted += 1 }
            return String(UnicodeScalar(UInt32(256 + shifted))!)
        }
        let tokens = byteTokens + ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        let vocabulary = tokens.count, heads = 4, kvHeads = 2, ff = 24

        var writer = try GGUFWriter()
        try writer.set("general.architecture", .string("llama"))
        try writer.set("llama.embedding_length", .uint32(UInt32(e)))
        try writer.set("llama.block_count", .uint32(UInt32(layers)))
        try writer.set("llama.feed_forward_length", .uint32(UInt32(ff)))
        try writer.set("llama.attention.head_count", .uint32(UInt32(heads)))
        try writer.set("llama.attention.head_count_kv", .uint32(UInt32(kvHeads)))
        try writer.set("llama.vocab_size", .uint32(UInt32(vocabulary)))
        try writer.set("llama.context_length", .uint32(64))
        try writer.set("tokenizer.ggml.model", .string("gpt2"))
        try writer.set("tokenizer.ggml.pre", .string("gpt2"))
        try writer.set("tokenizer.ggml.tokens", .strings(tokens))
        try writer.set("tokenizer.ggml.token_type", .array(.int32, Array(repeating: GGUFValue.int32(1), count: 256)
            + Array(repeating: GGUFValue.int32(3), count: 3)))
        try writer.set("tokenizer.ggml.merges", .strings([]))
        try writer.set("tokenizer.ggml.eos_token_id", .uint32(258))
        try writer.set("tokenizer.ggml.add_bos_token", .bool(false))

        var random = RandomSource(seed: 7)
        func add(_ name: String, _ dims: [Int], scale: Float, offset: Float = 0) throws {
            let values = (0..<dims.reduce(1, *)).map { _ in offset + scale * Float(random.nextUnit() * 2 - 1) }
            try writer.addTensor(name: name, type: .f32, dimensions: dims, data: values.withUnsafeBytes { Array($0) })
        }
        let kv = kvHeads * (e / heads)
        try add("token_embd.weight", [e, vocabulary], scale: 1)
        try add("output_norm.weight", [e], scale: 0.2, offset: 1)
        try add("output.weight", [e, vocabulary], scale: 0.5)
        for i in 0..<layers {
            let p = "blk.\(i)."
            try add(p + "attn_norm.weight", [e], scale: 0.2, offset: 1)
            try add(p + "ffn_norm.weight", [e], scale: 0.2, offset: 1)
            try add(p + "attn_q.weight", [e, e], scale: 0.5)
            try add(p + "attn_k.weight", [e, kv], scale: 0.5)
            try add(p + "attn_v.weight", [e, kv], scale: 0.5)
            try add(p + "attn_output.weight", [e, e], scale: 0.3)
            try add(p + "ffn_gate.weight", [e, ff], scale: 0.5)
            try add(p + "ffn_up.weight", [e, ff], scale: 0.5)
            try add(p + "ffn_down.weight", [ff, e], scale: 0.3)
        }
        return writer
    }
}
