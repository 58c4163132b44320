import Foundation
import Testing
import TernKernels
import TernTrain

/// The whole training graph against finite differences of its own loss: every LoRA pair
/// of every projection (so the linear-with-LoRA backward wrt A, B and — through the
/// chain into lower blocks — x, the norms, RoPE, attention, the FFN and the chunked
/// cross-entropy are all exercised), on float32 tiny models where the forward is exact float.
@Suite("training graph gradients vs finite differences")
struct GraphGradientTests {
    /// With `dropout`, both the gradients and the finite differences use that fixed mask.
    static func check(_ model: TransformerModel, tokens: [Int32], scoredFrom first: Int, dropout: DropoutMask? = nil) throws {
        let parameters = try TinyModel.adapter(for: model)
        let graph = try TrainingGraph(model: model, parameters: parameters, capacity: tokens.count - 1, precision: .float32)
        let sequence = try TinyModel.sequence(tokens, scoredFrom: first)
        parameters.zeroGradients()
        let loss = try graph.accumulateGradients(for: sequence, lossScale: 1, dropout: dropout)
        #expect(loss.tokens == tokens.count - first)
        #expect(loss.total.isFinite && loss.total > 0)
        let analytic = Array(parameters.gradients)
        var values = Array(parameters.values)
        var checked = 0
        for slot in parameters.slots {
            let aIndices = [slot.aOffset, slot.aOffset + parameters.rank * slot.inputs / 2 + 1]
            let bIndices = [slot.bOffset, slot.bOffset + slot.outputs * parameters.rank - 1]
            for index in aIndices + bIndices {
                let numeric = try FiniteDifference.derivative(at: index, of: &values) { v in
                    for (i, x) in v.enumerated() { parameters.values[i] = x }
                    return try graph.evaluate(sequence, dropout: dropout).total
                }
                #expect(FiniteDifference.close(numeric, Double(analytic[index]), absolute: 3e-3, relative: 3e-2),
                        "\(slot.site.baseTensorName) value \(index - slot.aOffset): numeric \(numeric), analytic \(analytic[index])")
                checked += 1
            }
        }
        #expect(checked == parameters.slots.count * 4)
        #expect(analytic.contains { $0 != 0 })
    }

    @Test("llama block (SwiGLU, adjacent-pair RoPE, GQA), 70 tokens: two loss chunks, three attention chunks")
    func llama() throws {
        let model = try TinyModel.make(architecture: .llama)
        let tokens = (0..<70).map { Int32(($0 * 7 + 3) % TinyModel.vocabulary) }
        try Self.check(model, tokens: tokens, scoredFrom: 2)
    }

    @Test("bitnet block (ReLU², sub-norms, NEOX RoPE), partly masked")
    func bitnet() throws {
        let model = try TinyModel.make(architecture: .bitnet, relu2: true, seed: 9)
        try Self.check(model, tokens: [1, 5, 9, 2, 33, 17, 8, 8, 21], scoredFrom: 5)
    }

    /// Attention-only targets take the recomputation's shortcut (no ffn_down pair: the
    /// down projection is skipped); every target takes the full block.
    @Test("recomputing activations gives the same gradients bit for bit", arguments: [LoRATarget.allCases, LoRATarget.attention])
    func recomputation(targets: [LoRATarget]) throws {
        let model = try TinyModel.make(architecture: .bitnet, seed: 3)
        let sequence = try TinyModel.sequence([4, 8, 15, 16, 23, 39, 2])
        var results: [[Float]] = []
        for recompute in [false, true] {
            let parameters = try TinyModel.adapter(for: model, targets: targets)
            let graph = try TrainingGraph(model: model, parameters: parameters, capacity: 8, recomputesActivations: recompute)
            #expect(graph.recomputesActivations == recompute)
            _ = try graph.accumulateGradients(for: sequence, lossScale: 0.5)
            results.append(Array(parameters.gradients))
        }
        #expect(results[0] == results[1])
    }

    @Test("a sequence longer than the graph's capacity, or an adapter of another shape, is rejected")
    func errors() throws {
        let model = try TinyModel.make()
        let parameters = try TinyModel.adapter(for: model)
        let graph = try TrainingGraph(model: model, parameters: parameters, capacity: 4)
        #expect(throws: TrainingError.sequenceTooLong(tokens: 6, capacity: 5)) {
            try graph.evaluate(try TinyModel.sequence([1, 2, 3, 4, 5, 6]))
        }
        let other = try TinyModel.make(embedding: 8, heads: 2, kvHeads: 1)
        #expect(throws: TrainingError.self) { try TrainingGraph(model: other, parameters: parameters, capacity: 4) }
    }
}
