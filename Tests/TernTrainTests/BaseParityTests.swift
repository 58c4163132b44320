import Foundation
import Testing
import TernKernels
import TernTrain

/// With B = 0 an adapter is a no-op: the training forward pass must give the inference
/// runtime's logits exactly, on the real models (block-quant and ternary bases).
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
        let graph = try TrainingGraph(model: model, parameters: parameters, capacity: tokens.count, pool: pool)
        let trained = try graph.logits(tokens: tokens)
        let base = try InferenceSession(model: model, contextLength: tokens.count, pool: pool).forward(tokens, logits: .all)
        #expect(trained.count == base.count)
        #expect(trained == base)
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
