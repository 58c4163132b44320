import Foundation
import Testing
import TernModel
import TernNode
import TernTasks

/// One round of DiLoCo over LoRA on the tiny model: two train jobs from the same adapter
/// with A frozen, aggregated. The new A is the old one bit for bit, and B·A is exactly the
/// token-weighted mean of the workers' B·A.
@Suite final class RoundAggregationTests {
    let directory: URL
    let modelPath: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tern-aggregate-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        modelPath = directory.appendingPathComponent("tiny.gguf").path
        try TinyTrainModel.writer(embedding: 16).write(to: modelPath)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// The adapter a dispatcher starts from: A random, B = 0, on attn_q and attn_v of both blocks.
    func initialAdapter() throws -> LoRAAdapter {
        var random = RandomSource(seed: 3)
        var adapter = LoRAAdapter(rank: 2, alpha: 4)
        for layer in 0..<2 {
            adapter.weights[LoRASite(layer: layer, target: .attentionQuery)] = .initial(inputs: 16, outputs: 16, rank: 2, random: &random)
            adapter.weights[LoRASite(layer: layer, target: .attentionValue)] = .initial(inputs: 16, outputs: 8, rank: 2, random: &random)
        }
        return adapter
    }

    func train(from adapterPath: String, text: String, factor: String) throws -> (LoRAAdapter, Int) {
        let dataset = directory.appendingPathComponent("\(text.prefix(8)).txt").path
        try String(repeating: text, count: 8).write(toFile: dataset, atomically: true, encoding: .utf8)
        let options = TrainJobOptions(steps: 3, learningRate: 0.05, rank: 2, alpha: 4, modules: ["attn_q", "attn_v"],
                                      sequenceLength: 16, batchSize: 2, seed: 1, trainFactor: factor)
        let result = try TrainJob.run(modelPath: modelPath, datasetPath: dataset, inputAdapterPath: adapterPath, options: options,
                                      progress: { _ in })
        return (try LoRAAdapterFile(file: try GGUFFile(bytes: result.adapterBytes), path: "result").adapter, result.tokens)
    }

    @Test func withAFrozenTheRoundsUpdateOfBAIsTheWorkersMeanExactly() throws {
        let global = try initialAdapter()
        let globalPath = directory.appendingPathComponent("global.gguf").path
        try Data(LoRAAdapterFile.serialized(global, baseModel: try GGUFFile(path: modelPath))).write(to: URL(fileURLWithPath: globalPath))
        let first = try train(from: globalPath, text: "the quick brown fox jumps over the lazy dog. ", factor: "B")
        let second = try train(from: globalPath, text: "pack my box with five dozen liquor jugs! ", factor: "B")

        var optimizer = OuterOptimizer.averaging(parameterCount: RoundAggregation.vector(global).count)
        let next = try RoundAggregation.apply(global: global, results: [(first.0, first.1), (second.0, 3 * second.1)],
                                              factor: "B", optimizer: &optimizer)
        let weights = [Float(first.1), Float(3 * second.1)]
        for site in global.sites {
            let (g, n) = (global.weights[site]!, next.weights[site]!)
            #expect(n.a == g.a, "the frozen factor is untouched")
            let workers = [first.0.weights[site]!, second.0.weights[site]!]
            #expect(workers.allSatisfy { $0.a == g.a })
            // (B·A)[o][i] of the aggregate against the weighted mean of the workers' products.
            for o in 0..<g.outputs {
                for i in 0..<g.inputs {
                    func product(_ w: LoRAWeights) -> Float { (0..<w.rank).reduce(0) { $0 + w.b[o * w.rank + $1] * w.a[$1 * w.inputs + i] } }
                    let mean = zip(workers, weights).reduce(0) { $0 + $1.1 * product($1.0) } / weights.reduce(0, +)
                    #expect(abs(product(n) - mean) <= 1e-6 * max(1, abs(mean)))
                }
            }
        }
        #expect(next.sites.contains { next.weights[$0]!.b.contains { $0 != 0 } }, "B moved")
    }

    @Test func aResultThatMovedTheFrozenFactorOrHasAnotherShapeIsRefused() throws {
        let global = try initialAdapter()
        var moved = global
        moved.weights[global.sites[0]]!.a[0] += 1e-3
        var optimizer = OuterOptimizer.averaging(parameterCount: RoundAggregation.vector(global).count)
        #expect(throws: RoundAggregation.Failure.frozenFactorChanged(result: 0)) {
            try RoundAggregation.apply(global: global, results: [(moved, 10)], factor: "B", optimizer: &optimizer)
        }
        var fewer = global
        fewer.weights[global.sites[0]] = nil
        #expect(throws: RoundAggregation.Failure.self) {
            try RoundAggregation.apply(global: global, results: [(fewer, 10)], factor: "B", optimizer: &optimizer)
        }
        #expect(throws: RoundAggregation.Failure.noResults) {
            try RoundAggregation.apply(global: global, results: [(global, 0)], factor: "B", optimizer: &optimizer)
        }
    }
}
