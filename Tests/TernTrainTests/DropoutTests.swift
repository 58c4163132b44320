import Foundation
import Testing
import TernKernels
import TernTrain

/// LoRA dropout: the mask is a pure function of (seed, step, micro-batch, site, token,
/// input) with keep rate 1 − p; p = 0 changes nothing; the backward differentiates the
/// dropped forward (finite differences under a fixed mask); recomputation regenerates the
/// same mask.
@Suite("LoRA dropout")
struct DropoutTests {
    private static let query = LoRASite(layer: 1, target: .attentionQuery)
    private static let key = LoRASite(layer: 1, target: .attentionKey)

    /// The mask of `site` over tokens × width as 0/1.
    private static func keeps(_ mask: DropoutMask, site: LoRASite, tokens: Int, width: Int) -> [Bool] {
        (0..<tokens).flatMap { t in (0..<width).map { mask.keeps(site: site, token: t, input: $0) } }
    }

    @Test("the mask is deterministic, differs by step, micro-batch and site, and keeps 1 − p of the inputs")
    func maskStatistics() throws {
        let dropout = try LoRADropout(probability: 0.3, seed: 42)
        let tokens = 64, width = 101  // odd: the last input of a row uses one hash lane alone
        let mask = dropout.mask(step: 5, microBatch: 1)
        let kept = Self.keeps(mask, site: Self.query, tokens: tokens, width: width)
        #expect(kept == Self.keeps(try LoRADropout(probability: 0.3, seed: 42).mask(step: 5, microBatch: 1),
                                   site: Self.query, tokens: tokens, width: width))
        let rate = Double(kept.filter { $0 }.count) / Double(kept.count)
        #expect(abs(rate - 0.7) < 0.015, "keep rate \(rate)")  // 6464 draws: σ ≈ 0.0057
        for other in [Self.keeps(dropout.mask(step: 6, microBatch: 1), site: Self.query, tokens: tokens, width: width),
                      Self.keeps(dropout.mask(step: 5, microBatch: 0), site: Self.query, tokens: tokens, width: width),
                      Self.keeps(mask, site: Self.key, tokens: tokens, width: width),
                      Self.keeps(try LoRADropout(probability: 0.3, seed: 43).mask(step: 5, microBatch: 1),
                                 site: Self.query, tokens: tokens, width: width)] {
            let agree = zip(kept, other).filter { $0 == $1 }.count
            // Independent masks agree on 0.7² + 0.3² = 58 % of the inputs.
            #expect(abs(Double(agree) / Double(kept.count) - 0.58) < 0.03, "agreement \(agree) of \(kept.count)")
        }
        for p: Float in [0.05, 0.5, 0.9] {
            let m = try LoRADropout(probability: p, seed: 7).mask(step: 0, microBatch: 0)
            let k = Self.keeps(m, site: Self.key, tokens: 50, width: 200)
            let r = Double(k.filter { $0 }.count) / Double(k.count)
            #expect(abs(r - Double(1 - p)) < 0.015, "p \(p): keep rate \(r)")
        }
    }

    @Test("apply scales kept inputs by 1/(1 − p) and zeroes the rest, exactly where keeps says, on any thread count")
    func applyMatchesKeeps() throws {
        let mask = try LoRADropout(probability: 0.25, seed: 3).mask(step: 2, microBatch: 0)
        let tokens = 7, width = 33
        var values = (0..<(tokens * width)).map { Float($0 % 13) - 6 }
        let original = values
        try values.withUnsafeMutableBufferPointer { try mask.apply(to: $0, tokens: tokens, width: width, site: Self.query) }
        let kept = Self.keeps(mask, site: Self.query, tokens: tokens, width: width)
        let scale: Float = 1 / 0.75
        #expect(values == zip(original, kept).map { $1 ? $0 * scale : 0 })
        var pooled = original
        try pooled.withUnsafeMutableBufferPointer {
            try mask.apply(to: $0, tokens: tokens, width: width, site: Self.query, pool: ThreadPool(threads: 2))
        }
        #expect(pooled.map(\.bitPattern) == values.map(\.bitPattern))
        var short = [Float](repeating: 1, count: 10)
        #expect(throws: TrainingError.self) {
            try short.withUnsafeMutableBufferPointer { try mask.apply(to: $0, tokens: 2, width: 6, site: Self.query) }
        }
    }

    @Test("dropout outside [0, 1) is refused, naming the value")
    func validation() throws {
        #expect(throws: TrainingError.invalidOption("dropout 1.0 must be in [0, 1)")) { try LoRADropout(probability: 1, seed: 0) }
        var options = TrainingOptions()
        options.dropout = -0.1
        #expect(throws: TrainingError.invalidOption("dropout -0.1 must be in [0, 1)")) { try options.validate() }
        options.dropout = 0
        #expect(try options.loraDropout == nil)
        options.dropout = 0.1
        #expect(try options.loraDropout == LoRADropout(probability: 0.1, seed: options.seed))
    }

    @Test("p = 0 gives the undropped pass bit for bit; p > 0 changes the gradients but not validation")
    func zeroProbabilityIsIdentity() throws {
        let model = try TinyModel.make(architecture: .llama, seed: 5)
        let sequence = try TinyModel.sequence([3, 9, 27, 1, 4, 12, 36, 8, 24])
        func run(_ mask: DropoutMask?) throws -> (loss: Double, gradients: [UInt32], validation: Double) {
            let parameters = try TinyModel.adapter(for: model)
            let graph = try TrainingGraph(model: model, parameters: parameters, capacity: 8)
            let loss = try graph.accumulateGradients(for: sequence, lossScale: 1, dropout: mask)
            return (loss.total, parameters.gradients.map(\.bitPattern), try graph.evaluate(sequence).total)
        }
        let plain = try run(nil)
        let zero = try run(try LoRADropout(probability: 0, seed: 1).mask(step: 0, microBatch: 0))
        #expect(zero.loss == plain.loss)
        #expect(zero.gradients == plain.gradients)
        let dropped = try run(try LoRADropout(probability: 0.4, seed: 1).mask(step: 0, microBatch: 0))
        #expect(dropped.loss != plain.loss)
        #expect(dropped.gradients != plain.gradients)
        #expect(dropped.validation == plain.validation)
    }

    @Test("gradients with dropout 0.3 match finite differences of the loss under the same mask (llama and bitnet)")
    func finiteDifferences() throws {
        let mask = try LoRADropout(probability: 0.3, seed: 17).mask(step: 4, microBatch: 1)
        let llama = try TinyModel.make(architecture: .llama)
        try GraphGradientTests.check(llama, tokens: (0..<12).map { Int32(($0 * 5 + 1) % TinyModel.vocabulary) },
                                     scoredFrom: 2, dropout: mask)
        let bitnet = try TinyModel.make(architecture: .bitnet, relu2: true, seed: 9)
        try GraphGradientTests.check(bitnet, tokens: [1, 5, 9, 2, 33, 17, 8, 8, 21], scoredFrom: 3, dropout: mask)
    }

    @Test("recomputing activations regenerates the mask: same loss and gradients bit for bit")
    func recomputation() throws {
        let model = try TinyModel.make(architecture: .bitnet, seed: 3)
        let sequence = try TinyModel.sequence([4, 8, 15, 16, 23, 39, 2])
        let mask = try LoRADropout(probability: 0.2, seed: 8).mask(step: 1, microBatch: 0)
        var results: [(Double, [Float])] = []
        for recompute in [false, true] {
            let parameters = try TinyModel.adapter(for: model)
            let graph = try TrainingGraph(model: model, parameters: parameters, capacity: 8, recomputesActivations: recompute)
            let loss = try graph.accumulateGradients(for: sequence, lossScale: 0.5, dropout: mask)
            results.append((loss.total, Array(parameters.gradients)))
        }
        #expect(results[0].0 == results[1].0)
        #expect(results[0].1 == results[1].1)
    }

    @Test("a resume asking for another dropout is refused; a checkpoint from before dropout resumes with 0")
    func resumeOptions() throws {
        var options = TrainingOptions()
        options.dropout = 0.1
        try options.checkResume(requestedDropout: nil)
        try options.checkResume(requestedDropout: 0.1)
        #expect(throws: TrainingError.invalidOption("dropout 0.2 differs from the checkpoint's 0.1: a resumed run keeps the dropout it started with")) {
            try options.checkResume(requestedDropout: 0.2)
        }
        let encoded = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(options)) as! [String: Any]
        #expect((encoded["dropout"] as? Double).map(Float.init) == 0.1)
        let old = try JSONSerialization.data(withJSONObject: encoded.filter { $0.key != "dropout" })
        let decoded = try JSONDecoder().decode(TrainingOptions.self, from: old)
        var expected = options
        expected.dropout = 0
        #expect(decoded == expected)
    }

    @Test("the PEFT config records the dropout a run trained with, 0 otherwise")
    func peftConfig() throws {
        let model = try TinyModel.make()
        let adapter = try TinyModel.adapter(for: model).adapter
        var export = PEFTExport(adapter: adapter, baseModelName: "tiny", llamaHeads: nil)
        func dropout() throws -> Double? {
            (try JSONSerialization.jsonObject(with: try export.config()) as? [String: Any])?["lora_dropout"] as? Double
        }
        #expect(try dropout() == 0)
        export.loraDropout = 0.1
        #expect(try dropout() == 0.1)  // the Float's shortest decimal, not 0.10000000149011612
    }
}
