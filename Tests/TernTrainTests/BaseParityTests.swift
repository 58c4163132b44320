import Foundation
import Testing
import TernKernels
import TernTrain

/// With B = 0 an adapter is a no-op: the training forward pass must give the inference
/// runtime's logits, on the real models (block-quant and ternary bases). The two passes
/// share every projection kernel but sum attention in different orders (the runtime's
/// grouped GEMM attention, the training graph's per-head loops that keep probabilities
/// for backward), so they agree to float rounding, not bit for bit (compared in float32: with int8
/// activations one flipped rounding grows through 30 layers); the runtime's own B = 0
/// test (LoRARuntimeTests) is the bit-exact one.
@Suite("B = 0 adapter reproduces the base model")
struct BaseParityTests {
    static func modelPath(_ name: String) -> String? {
        let dir = ProcessInfo.processInfo.environment["TERN_MODELS"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/tern/models").path
        let path = dir + "/" + name
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    private static func expectBaseLogits(_ name: String, tokens: [Int32]) throws {
        guard let path = modelPath(name) else {
            Issue.record("missing model \(name): run scripts/setup.sh")
            return
        }
        let model = try TransformerModel(path: path)
        var random = RandomSource(seed: 1)
        let parameters = try LoRAParameters.initial(model: model, targets: LoRATarget.allCases, rank: 4, alpha: 8, random: &random)
        let pool = ThreadPool(threads: 2)
        let graph = try TrainingGraph(model: model, parameters: parameters, capacity: tokens.count, precision: .float32, pool: pool)
        let trained = try graph.logits(tokens: tokens)
        let base = try InferenceSession(model: model, contextLength: tokens.count, pool: pool, precision: .float32)
            .forward(tokens, logits: .all)
        try #require(trained.count == base.count)
        let vocabulary = model.vocabularySize
        var largestGap: Float = 0, largestLogit: Float = 0
        for i in base.indices {
            largestGap = max(largestGap, abs(trained[i] - base[i]))
            largestLogit = max(largestLogit, abs(base[i]))
        }
        // Relative to the logits' scale: float32 summation-order noise, not a wrong op (a
        // wrong op moves logits by whole units). Measured on SmolLM2: a gap of 0.004.
        #expect(largestGap <= 5e-4 * largestLogit, "largest logit difference \(largestGap) of logits up to \(largestLogit)")
        for position in 0..<tokens.count {
            let row = (position * vocabulary)..<((position + 1) * vocabulary)
            let top = { (logits: ArraySlice<Float>) in logits.indices.max { logits[$0] < logits[$1] }! }
            #expect(top(trained[row]) == top(base[row]), "top-1 differs at position \(position)")
        }
    }

    @Test("SmolLM2-135M Q4_1")
    func smolLM2() throws {
        try Self.expectBaseLogits("SmolLM2-135M-Instruct.Q4_1.gguf", tokens: [1, 504, 3575, 282, 4649, 28, 216, 9])
    }

    @Test("bitnet tiny TQ2_0 (ternary)")
    func bitnetTiny() throws {
        try Self.expectBaseLogits("bitnet-tiny-tq2_0.gguf", tokens: [1, 504, 3575, 282, 4649, 28])
    }
}

/// The int8 transposed-copy path for ternary input gradients against the exact float path,
/// on the real ternary tiny model: the adapter gradients must point the same way.
@Suite("ternary input gradients: int8 transposed copy vs float")
struct TernaryGradientPathTests {
    @Test("bitnet tiny: gradients agree to cosine > 0.99 and norm within 5%")
    func agree() throws {
        guard let path = BaseParityTests.modelPath("bitnet-tiny-tq2_0.gguf") else {
            Issue.record("missing model bitnet-tiny-tq2_0.gguf: run scripts/setup.sh")
            return
        }
        let model = try TransformerModel(path: path)
        let tokens: [Int32] = [1, 504, 3575, 282, 4649, 28, 216, 9, 1033, 77, 402, 13]
        let sequence = try TrainingSequence(tokens: tokens, lossMask: tokens.map { _ in true })
        var gradients: [[Float]] = []
        for route in [TernaryGradientPath.float, .int8] {
            var random = RandomSource(seed: 5)
            let parameters = try LoRAParameters.initial(model: model, targets: LoRATarget.allCases, rank: 4, alpha: 8, random: &random)
            for slot in parameters.slots {
                for i in 0..<(slot.outputs * 4) { parameters.values[slot.bOffset + i] = Float(random.nextUnit() - 0.5) * 0.02 }
            }
            let graph = try TrainingGraph(model: model, parameters: parameters, capacity: tokens.count, ternaryGradient: route)
            _ = try graph.accumulateGradients(for: sequence, lossScale: 1 / Float(tokens.count - 1))
            gradients.append(Array(parameters.gradients))
        }
        let (f, q) = (gradients[0], gradients[1])
        let dot = zip(f, q).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let nf = f.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let nq = q.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        #expect(nf > 0)
        #expect(dot / (nf * nq) > 0.99, "cosine \(dot / (nf * nq))")
        #expect(abs(nq / nf - 1) < 0.05, "norms \(nf) vs \(nq)")
        #expect(f != q)
    }
}

/// What training optimises is what inference runs: a trained adapter (here: random B)
/// loaded into the runtime with `TransformerModel(file:adapter:)` gives the training
/// graph's logits.
@Suite("trained adapter: training graph logits = runtime --lora logits")
struct AdapterRuntimeAgreementTests {
    @Test("bitnet tiny with LoRA on every projection")
    func agree() throws {
        guard let path = BaseParityTests.modelPath("bitnet-tiny-tq2_0.gguf") else {
            Issue.record("missing model bitnet-tiny-tq2_0.gguf: run scripts/setup.sh")
            return
        }
        let file = try GGUFFile(path: path)
        let base = try TransformerModel(file: file)
        var random = RandomSource(seed: 8)
        let parameters = try LoRAParameters.initial(model: base, targets: LoRATarget.allCases, rank: 4, alpha: 8, random: &random)
        for slot in parameters.slots {
            for i in 0..<(slot.outputs * 4) { parameters.values[slot.bOffset + i] = Float(random.nextUnit() - 0.5) * 0.05 }
        }
        let tokens: [Int32] = [1, 504, 3575, 282, 4649, 28, 216]
        let trained = try TrainingGraph(model: base, parameters: parameters, capacity: tokens.count).logits(tokens: tokens)
        let adapted = try TransformerModel(file: file, adapter: parameters.adapter)
        let runtime = try InferenceSession(model: adapted, contextLength: tokens.count).forward(tokens, logits: .all)
        let plain = try InferenceSession(model: base, contextLength: tokens.count).forward(tokens, logits: .all)
        let worst = zip(trained, runtime).map { abs($0 - $1) }.max() ?? .infinity
        let moved = zip(plain, runtime).map { abs($0 - $1) }.max() ?? 0
        #expect(moved > 0.05, "the adapter changes the logits (by \(moved))")
        #expect(worst < 1e-3, "largest logit difference \(worst)")
    }
}
