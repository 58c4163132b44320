import Foundation
import Testing
import TernKernels
import TernModel
import TernNode
import TernTasks
import TernTrain

/// What the fine-tune check's tolerance must separate: one shard trained in two kernel
/// classes (rounding differs, so bits do not match) against a worker that cheated by 1e-3 in
/// one parameter mid-job.
@Suite struct CrossClassTrainingTests {
    @Test func anotherKernelClassStaysFarBelowTheToleranceAndACheatFarAbove() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tern-crossclass-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = directory.appendingPathComponent("tiny.gguf").path
        try TinyTrainModel.writer(embedding: 16).write(to: model)
        let data = directory.appendingPathComponent("data.txt").path
        try String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 12).write(toFile: data, atomically: true, encoding: .utf8)
        let options = TrainJobOptions(steps: 4, learningRate: 0.02, rank: 2, alpha: 4, modules: ["attn_q", "attn_v"],
                                      sequenceLength: 16, batchSize: 2, seed: 4)
        // The round's starting adapter, made as the dispatcher makes it.
        let file = try GGUFFile(path: model)
        var random = RandomSource(seed: options.seed)
        let initial = try LoRAParameters.initial(model: try TransformerModel(file: file), targets: [.attentionQuery, .attentionValue],
                                                 rank: 2, alpha: 4, random: &random).adapter
        let start = directory.appendingPathComponent("start.gguf").path
        try Data(try LoRAAdapterFile.serialized(initial, baseModel: file)).write(to: URL(fileURLWithPath: start))

        func train(_ kernelClass: KernelClass, cheat: Bool = false) throws -> [Float] {
            let result = try KernelClass.withCurrent(kernelClass) {
                try TrainJob.run(modelPath: model, datasetPath: data, inputAdapterPath: start, options: options,
                                 perturbAfterStep: cheat ? 2 : nil)
            }
            return RoundAggregation.vector(try LoRAAdapterFile(file: try GGUFFile(bytes: result.adapterBytes), path: "r").adapter)
        }
        let native = try train(.native), scalar = try train(.scalar), cheat = try train(.native, cheat: true)
        #expect(native != scalar || KernelClass.native == .scalar, "different classes round differently")
        let rounding = UpdateComparison.relativeDifference(start: RoundAggregation.vector(initial), worker: scalar, recomputed: native)
        let lie = UpdateComparison.relativeDifference(start: RoundAggregation.vector(initial), worker: cheat, recomputed: native)
        #expect(rounding < UpdateComparison.defaultTolerance / 10, "rounding: \(rounding)")
        #expect(lie > UpdateComparison.defaultTolerance * 10, "cheat: \(lie)")
    }
}
